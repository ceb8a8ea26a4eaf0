"""MIME assembly with the shared parts encoded once per variant. Contains no I/O.

A variant's HTML and text are split around per-subscriber slots (greeting, addresses,
links). The constant pieces are quoted-printable encoded once and end in a soft line break,
so every slot starts on a fresh encoded line; per subscriber only the short slot values are
encoded and the pieces joined. The result decodes to exactly the substituted document.
Headers are folded with ``email.policy.SMTP`` (CRLF); a CR or LF in any header value raises
:class:`~digest.errors.HeaderError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.policy import SMTP
from email.utils import parseaddr

from ..errors import HeaderError
from ..htmltext import strip_bidi

Piece = bytes | str  # bytes: encoded constant; str: the name of a slot
# RFC 5322 atext only: a phrase with a dot (obs-phrase) is quoted, as Python's parser needs
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\@]+@[A-Za-z0-9.-]+")
_SOFT_BREAK = b"=\r\n"


def qp(text: str) -> bytes:
    """Quoted-printable (UTF-8, CRLF) of ``text``; lines stay within 76 characters."""
    data = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return data.replace(b"\n", b"\r\n")


def qp_piece(text: str) -> bytes:
    """Like :func:`qp`, ending on a line boundary so that the next piece starts a fresh line."""
    data = qp(text)
    return data if not data or data.endswith(b"\r\n") else data + _SOFT_BREAK


def split(document: str, slot: re.Pattern[str]) -> list[Piece]:
    """Split ``document`` around slot markers (group 1 names the slot) and encode the constants."""
    pieces: list[Piece] = []
    pos = 0
    for m in slot.finditer(document):
        if m.start() > pos:
            pieces.append(qp_piece(document[pos : m.start()]))
        pieces.append(m.group(1))
        pos = m.end()
    if pos < len(document):
        pieces.append(qp_piece(document[pos:]))
    return pieces


def check_value(name: str, value: str) -> str:
    """``value`` when it is safe as a header value.

    Raises:
        HeaderError: it holds a CR, LF or NUL (header injection), naming the header.
    """
    if "\r" in value or "\n" in value or "\0" in value:
        raise HeaderError(f"header {name}: value contains a line break: {value[:60]!r}")
    return value


def fold(name: str, value: str) -> bytes:
    """One header line (folded, RFC 2047 where needed), CRLF-terminated."""
    check_value(name, value)
    try:
        header = SMTP.header_factory(name, value)
        line = SMTP.fold_binary(name, header)
    except (ValueError, TypeError, IndexError) as exc:
        raise HeaderError(f"header {name}: {exc}") from exc
    if header.defects:
        raise HeaderError(f"header {name}: {header.defects[0]} in {value[:60]!r}")
    return line


def ascii_address(email: str, what: str) -> str:
    """``email`` usable in an ASCII header: a non-ASCII domain becomes IDNA.

    Raises:
        HeaderError: a line break, a malformed address, or a non-ASCII local part.
    """
    check_value(what, email)
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        raise HeaderError(f"header {what}: not an email address: {email[:60]!r}")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise HeaderError(f"header {what}: invalid domain in {email[:60]!r}") from exc
    address = f"{local}@{domain}"
    if not address.isascii() or not _ADDRESS.fullmatch(address):
        raise HeaderError(f"header {what}: address needs SMTPUTF8 or is malformed: {email[:60]!r}")
    return address


def mailbox(name: str, value: str, display: str) -> bytes:
    """An address header ``display <address>``, folded, RFC 2047 for non-ASCII or long names.

    Built by hand rather than with ``email.headerregistry``: that takes 0.1–0.2 ms per
    header, and its folding of long non-ASCII names can split a word with a space.

    Raises:
        HeaderError: a line break in the name or the address, or a malformed address.
    """
    display = strip_bidi(display)  # it could show as another name, or reverse the address
    check_value(name, display)
    address = ascii_address(value, name)
    display = " ".join(display.split())
    if not display:
        return f"{name}: {address}\r\n".encode("ascii")
    fits = len(name) + len(display) + len(address) < 70
    if fits and display.isascii() and display.isprintable() and "=?" not in display:
        phrase = display if _PLAIN_NAME.fullmatch(display) else _quoted(display)
        return f"{name}: {phrase} <{address}>\r\n".encode("ascii")
    words = encoded_words(display)
    line = f"{name}: {words} <{address}>"
    if len(line) > 78:  # one encoded word per line; decoders drop the folding whitespace
        line = f"{name}: " + "\r\n ".join([*words.split(" "), f"<{address}>"])
    return f"{line}\r\n".encode("ascii")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encoded_words(text: str, chunk: int = 45) -> str:
    """RFC 2047 base64 encoded-words of ``text``, split at character boundaries.

    Each word carries at most ``chunk`` bytes of UTF-8 (72 characters encoded), so that one
    word and the header name fit a 78-column line. Words break after a space where they can:
    decoders must drop the whitespace between encoded-words (RFC 2047, 6.2), but some, such
    as Python's address parser, keep it; breaking at a space makes both read the same.
    """
    words: list[bytes] = []
    for piece in re.findall(r"\S*\s*", text):
        data = piece.encode("utf-8")
        if words and len(words[-1]) + len(data) <= chunk:
            words[-1] += data
            continue
        for ch in piece:  # a word longer than a chunk is cut between characters
            encoded = ch.encode("utf-8")
            if not words or len(words[-1]) + len(encoded) > chunk or words[-1].endswith(b" "):
                words.append(b"")
            words[-1] += encoded
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words if w)


def parse_sender(sender: str) -> tuple[str, str]:
    """``(display name, address)`` of a ``Name <addr>`` setting.

    Raises:
        HeaderError: line breaks or no address.
    """
    check_value("From", sender)
    display, address = parseaddr(sender)
    if not address:
        raise HeaderError(f"header From: no address in sender {sender!r}")
    return display, ascii_address(address, "From")


def message_id(secret: bytes, edition_id: str, email: str, domain: str) -> str:
    """A Message-ID stable per (edition, subscriber) that does not reveal the address."""
    digest = hashlib.blake2b(f"{edition_id}\0{email.lower()}".encode(), key=secret[:64], digest_size=12)
    safe_id = re.sub(r"[^A-Za-z0-9.-]", "-", edition_id) or "edition"
    return f"<{safe_id}.{digest.hexdigest()}@{domain}>"


def boundary(seed: str) -> str:
    """A MIME boundary; ``=_`` can never occur in quoted-printable output."""
    return "=_digest_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


_PART = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'


@dataclass(frozen=True, slots=True)
class Frame:
    """The constant parts of one variant's messages: headers and the two split bodies."""

    head: bytes  # folded headers shared by every subscriber
    mime: bytes  # MIME-Version and Content-Type, after the subscriber's own headers
    text: tuple[Piece, ...]
    html: tuple[Piece, ...]
    boundary: bytes


def frame(headers: bytes, text: str, html: str, slot: re.Pattern[str], seed: str) -> Frame:
    """Encode a variant once: split both documents around their slots and fix the boundary."""
    bound = boundary(seed).encode("ascii")
    mime = b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="%s"\r\n' % bound
    return Frame(headers, mime, tuple(split(text, slot)), tuple(split(html, slot)), bound)


def assemble(
    frame: Frame, headers: bytes, text_values: Mapping[str, str], html_values: Mapping[str, str]
) -> bytes:
    """One complete message: the frame, the subscriber's own headers and encoded slot values.

    ``headers`` are complete CRLF-terminated header lines; the values map slot names to the
    text to insert (already HTML-escaped in ``html_values``).
    """
    delim = b"\r\n--" + frame.boundary
    out = [frame.head, headers, frame.mime, delim, b"\r\n", _PART % b"plain"]
    _fill(out, frame.text, text_values)
    out += [delim, b"\r\n", _PART % b"html"]
    _fill(out, frame.html, html_values)
    out += [delim, b"--\r\n"]
    return b"".join(out)


def _fill(out: list[bytes], pieces: tuple[Piece, ...], values: Mapping[str, str]) -> None:
    encoded: dict[str, bytes] = {}  # a slot used twice (a link in two places) is encoded once
    for p in pieces:
        if isinstance(p, bytes):
            out.append(p)
        else:
            if p not in encoded:
                encoded[p] = qp_piece(values[p])
            out.append(encoded[p])
