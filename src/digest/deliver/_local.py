"""Transports that stay on this machine: ``file:DIR`` (the offline default) and ``memory:``."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Self

from ..errors import ConfigError, DeliveryError
from ..models import OutgoingMessage

Prepare = Callable[[OutgoingMessage], bytes]

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def eml_name(message: OutgoingMessage) -> str:
    """A file name naming the edition and recipient, safe on every filesystem. Contains no I/O."""
    recipient = _UNSAFE.sub("_", message.recipient.lower()).strip("._") or "recipient"
    edition = _UNSAFE.sub("_", message.edition_id).strip("._") or "edition"
    return f"{edition}--{recipient[:180]}.eml"


class FileTransport:
    """Writes one ``.eml`` per message into a folder, atomically (temp file + rename).

    Writing the same (edition, recipient) again replaces the file: a rerun never leaves
    two copies, and a reader never sees a half-written one.
    """

    def __init__(self, directory: Path, prepare: Prepare) -> None:
        self.directory = directory
        self._prepare = prepare

    async def __aenter__(self) -> Self:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"file:{self.directory}: cannot create folder: {exc.strerror or exc}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> None:
        """Write the message as ``DIR/<edition>--<recipient>.eml``, with the Return-Path line a
        mailbox adds on delivery (the envelope sender: where bounces would go)."""
        data = f"Return-Path: <{message.sender}>\r\n".encode("ascii", "replace") + self._prepare(message)
        target = self.directory / eml_name(message)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryError(
                message.recipient, f"cannot write {target}: {exc.strerror or exc}", permanent=False
            ) from exc


class MemoryTransport:
    """Keeps the messages it is given in ``outbox`` (a list), in order. For tests and previews.

    ``fail`` (optional) is called with each message before it is kept; raise a
    :class:`~digest.errors.DeliveryError` from it to simulate a refusal.
    """

    def __init__(
        self,
        prepare: Prepare | None = None,
        fail: Callable[[OutgoingMessage], None] | None = None,
    ) -> None:
        self.outbox: list[OutgoingMessage] = []
        self._prepare = prepare
        self._fail = fail
        self.opened = self.closed = False

    async def __aenter__(self) -> Self:
        self.opened = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    async def send(self, message: OutgoingMessage) -> None:
        """Keep the message (with its bytes as the prepare step made them)."""
        data = self._prepare(message) if self._prepare else message.data
        if self._fail is not None:
            self._fail(message)
        self.outbox.append(
            OutgoingMessage(message.edition_id, message.sender, message.recipient, message.message_id, data)
        )
