"""Condensations cached by content hash, so each article is condensed once whatever the backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from ..models import Condensed
from ..serialize import condensed_from_dict, condensed_to_dict
from . import schema
from ._sql import upsert
from .base import StoreBase


class CacheStore(StoreBase):
    def cached_condensation(self, key: str) -> Condensed | None:
        with self.begin() as conn:
            data = conn.scalar(select(schema.condensations.c.data).where(schema.condensations.c.key == key))
        return condensed_from_dict(json.loads(data)) if data else None

    def cache_condensation(self, key: str, condensed: Condensed) -> None:
        data = json.dumps(condensed_to_dict(condensed), ensure_ascii=False)
        row = {"key": key, "backend": condensed.backend, "data": data, "created": datetime.now(UTC)}
        with self.begin() as conn:
            upsert(conn, schema.condensations, [row], key=["key"], update=["backend", "data"])
