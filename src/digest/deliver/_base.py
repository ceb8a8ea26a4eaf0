"""The adapter protocols of the deliver stage and the checks every transport applies.

A :class:`Transport` hands one :class:`~digest.models.OutgoingMessage` to its destination;
a :class:`Ledger` (the store implements it) records each delivery as it happens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Self

from ..errors import DeliveryError
from ..models import OutgoingMessage


class Transport(Protocol):
    """Where messages go. An async context manager: open connections on enter, close on exit."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def send(self, message: OutgoingMessage) -> None:
        """Hand one message over; return only once the destination has accepted it.

        Raises:
            DeliveryError: refused or not handed over; ``permanent`` is False when a
                later attempt may succeed (4xx, timeout, dropped connection).
            TransportUnavailable: no message can go through this transport (bad
                credentials, untrusted certificate, server unreachable).
        """
        ...


@dataclass(frozen=True, slots=True)
class Settled:
    """How a message ended in this run: sent (``error`` is None), or given up on."""

    message: OutgoingMessage
    attempts: int
    error: DeliveryError | None = None


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """What a ledger wrote when :meth:`Ledger.flush` returned."""

    bounced: int = 0  # subscribers marked bounced (refused addresses, counted once per edition)
    lost: int = 0  # outcomes not written: the claim had passed to another worker


class Ledger(Protocol):
    """Where the delivery loop claims messages and records how they ended; the store's
    worker ledger (:class:`digest.sending.WorkerLedger`) implements it, writing in batches."""

    def claim(self, message: OutgoingMessage) -> bool:
        """Before the first attempt: True when this run may send it (it holds the claim, or
        takes it now); False when another run has it in hand, or has sent it."""
        ...

    def settle(self, outcome: Settled) -> None:
        """The message's final outcome in this run; recorded soon (see :meth:`flush`).

        Raises:
            Exception: an earlier write failed; the loop stops with that error.
        """
        ...

    async def flush(self) -> LedgerReport:
        """Write every outcome settled so far; returns what the writes did."""
        ...


class TransportUnavailable(DeliveryError):
    """No message can go through this transport now; the run stops sending and says why."""

    def __init__(self, destination: str, reason: str, *, code: int | None = None) -> None:
        super().__init__(destination, reason, permanent=True, code=code)


# RFC 5322 3.6: these appear at most once. Bcc never belongs in a list message.
_SINGLE = frozenset(b"date from sender reply-to to cc message-id in-reply-to references subject".split())
_FORBIDDEN = frozenset({b"bcc"})
_FIELD_NAME = re.compile(rb"[!-9;-~]+")  # printable ASCII except ':' (RFC 5322 ftext)
_MAX_LINE = 998  # RFC 5322 2.1.1: octets per line, CRLF excluded


def check_message(message: OutgoingMessage) -> None:
    """Refuse a message whose header section could smuggle headers or break the protocol.

    Contains no I/O. The renderer already refuses CR/LF in header values; this is the last
    line of defence at the transport boundary, on the very bytes that would be sent.

    Raises:
        DeliveryError: (permanent, no SMTP code) naming the header line at fault.
    """

    def refuse(reason: str) -> DeliveryError:
        return DeliveryError(message.recipient, f"message refused: {reason}", permanent=True)

    for addr in (message.sender, message.recipient):
        if any(c in addr for c in "\r\n\0<>") or not addr.strip():
            raise refuse(f"invalid envelope address {addr!r}")
    data = message.data
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise refuse("no blank line (CRLF CRLF) after the headers")
    seen: set[bytes] = set()
    for number, line in enumerate(data[:end].split(b"\r\n"), start=1):
        if b"\r" in line or b"\n" in line:
            raise refuse(f"header line {number}: bare CR or LF")
        if b"\0" in line or len(line) > _MAX_LINE:
            raise refuse(f"header line {number}: NUL byte or longer than {_MAX_LINE} octets")
        if line[:1] in (b" ", b"\t"):
            if number == 1:
                raise refuse("header line 1: continuation without a header")
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise refuse(f"header line {number}: not a header field: {line[:60]!r}")
        key = name.lower()
        if key in _FORBIDDEN or (key in _SINGLE and key in seen):
            raise refuse(f"header line {number}: unexpected {name.decode()} header")
        seen.add(key)
    for required in (b"from", b"to", b"message-id"):
        if required not in seen:
            raise refuse(f"no {required.decode()} header")
