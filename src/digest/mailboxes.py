"""Where returned messages wait: an mbox file, a Maildir folder, or an IMAP mailbox. Each yields
the raw bytes of its messages; a mailbox that cannot be read is a one-line error naming it.

IMAP: ``imaps://user@host[:port]/Folder`` (TLS, port 993 by default; ``imap://`` sends the
password in clear and is refused unless the host is this machine), the password from an
environment variable, never from the URL. Messages read are flagged \\Seen; reading them again
changes nothing (reports are recorded once by their Message-ID).
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import InputError, UsageError

LOOPBACK = ("localhost", "127.0.0.1", "::1")
TIMEOUT = 30.0  # seconds for each IMAP command


@dataclass(frozen=True, slots=True)
class Returned:
    """One message of a mailbox, with where it was (for a report: ``bounces.mbox#12``)."""

    where: str
    raw: bytes


def read_mbox(path: Path) -> Iterator[Returned]:
    """The messages of an mbox file, oldest first.

    Raises:
        InputError: it cannot be read (naming the file).
    """
    if not path.is_file():
        raise InputError(f"{path}: no such mbox file")
    try:
        box = mailbox.mbox(path, create=False)
        try:
            for n, key in enumerate(box.keys(), start=1):
                yield Returned(f"{path.name}#{n}", box.get_bytes(key))
        finally:
            box.close()
    except (OSError, mailbox.Error) as exc:
        raise InputError(f"{path}: cannot read the mbox: {getattr(exc, 'strerror', None) or exc}") from exc


def read_maildir(path: Path) -> Iterator[Returned]:
    """The messages of a Maildir folder (new and cur), in name order.

    Raises:
        InputError: it is not a Maildir or cannot be read (naming the folder).
    """
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise InputError(f"{path}: not a Maildir folder (it needs cur/ and new/)")
    try:
        box = mailbox.Maildir(path, create=False)
        try:
            for key in sorted(box.keys()):
                yield Returned(f"{path.name}/{key}", box.get_bytes(key))
        finally:
            box.close()
    except (OSError, mailbox.Error) as exc:
        raise InputError(f"{path}: cannot read the Maildir: {getattr(exc, 'strerror', None) or exc}") from exc


def read_imap(url: str, environ: Mapping[str, str], *, password_env: str) -> Iterator[Returned]:
    """The messages of an IMAP mailbox; each is flagged \\Seen once read.

    Raises:
        UsageError: the URL is not one digest reads, or the password is missing.
        InputError: the server cannot be reached, refuses the login or the folder (naming it).
    """
    parts = urlsplit(url)
    host, folder = parts.hostname or "", unquote(parts.path.lstrip("/")) or "INBOX"
    where = f"{parts.scheme}://{host}/{folder}"
    if parts.scheme not in ("imaps", "imap") or not host or not parts.username or parts.password:
        raise UsageError(
            f"--imap {where}: expected imaps://user@host[:port]/Folder (the password from ${password_env})"
        )
    if parts.scheme == "imap" and host not in LOOPBACK:
        raise UsageError(f"--imap {where}: imap:// would send the password in clear; use imaps://")
    password = environ.get(password_env)
    if not password:
        raise UsageError(f"--imap {where}: set ${password_env} to the mailbox's password")
    try:
        client = _connect(parts.scheme, host, parts.port)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise InputError(f"{where}: cannot connect: {exc}") from exc
    try:
        yield from _messages(client, unquote(parts.username), password, folder, where)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def _connect(scheme: str, host: str, port: int | None) -> imaplib.IMAP4:
    if scheme == "imaps":
        return imaplib.IMAP4_SSL(host, port or 993, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
    return imaplib.IMAP4(host, port or 143, timeout=TIMEOUT)


def _messages(client: imaplib.IMAP4, user: str, password: str, folder: str, where: str) -> Iterator[Returned]:
    try:
        client.login(user, password)
    except imaplib.IMAP4.error as exc:
        raise InputError(f"{where}: login refused: {_said(exc)}") from exc
    try:
        status, _ = client.select(_quoted(folder))
        if status != "OK":
            raise InputError(f"{where}: no such folder")
        status, found = client.uid("SEARCH", "ALL")
        uids = [u.decode() for u in (found[0] or b"").split()] if status == "OK" else []
        for uid in uids:
            status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                continue
            yield Returned(f"{where}#{uid}", bytes(raw))
            client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
        raise InputError(f"{where}: {_said(exc)}") from exc


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    return (text.decode(errors="replace") if isinstance(text, bytes) else str(text)).strip() or type(
        exc
    ).__name__
