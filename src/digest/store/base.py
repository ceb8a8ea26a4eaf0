"""What every per-domain part of the store relies on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection

T = TypeVar("T")


class StoreBase:
    """Gives the per-domain mixins a typed ``begin()``; :class:`~digest.store.Store` provides it."""

    def begin(self) -> AbstractContextManager[Connection]:  # pragma: no cover - overridden
        raise NotImplementedError


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items from any iterable, read lazily (``itertools.batched`` of 3.12)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
