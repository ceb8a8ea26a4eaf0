"""One exception tree, rooted at :class:`DigestError`.

Each error carries the exit code the CLI uses for it and a one-line message that names the
place (file and line, feed URL, header). Dependency errors are mapped at the edges with
``raise ... from exc``.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base of every error digest raises on purpose."""

    exit_code = 1


class Failure(DigestError):
    """A step that failed for a reason worth a few words in the run summary ("HTTP 404",
    "not a feed", "timed out"); the caller adds the place (the feed URL, the story)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(DigestError, ValueError):
    """The configuration file or a flag is invalid. Exit code 2."""

    exit_code = 2


class UsageError(DigestError, ValueError):
    """The command line is invalid. Exit code 2."""

    exit_code = 2


class InputError(DigestError, ValueError):
    """An input file (article, CSV, JSONL) cannot be used."""

    exit_code = 2


class Busy(DigestError):
    """Another process holds what this one needs (the scheduler's lock on a store). Exit code 2."""

    exit_code = 2


class CondenseError(DigestError):
    """An article could not be condensed (for example: it holds no text)."""


class TemplateError(DigestError):
    """A template could not be loaded, rendered or compiled; names the file and line."""

    exit_code = 2


class StorageError(DigestError):
    """The store failed or holds a schema this version cannot use."""


class StoreUnusable(StorageError):
    """The store is not there, is not a digest store, is damaged, or is newer than this digest:
    the user's to mend, not a failure of the moment. Exit code 2."""

    exit_code = 2


class StoreMissing(StoreUnusable):
    """A command that only reads found no store where it looked (it creates none)."""


class DeliveryError(DigestError):
    """A message could not be handed over. ``permanent`` separates 5xx from retryable errors."""

    def __init__(
        self,
        recipient: str,
        reason: str,
        *,
        permanent: bool,
        code: int | None = None,
        address_refused: bool = False,
    ) -> None:
        super().__init__(f"{recipient}: {reason}")
        self.recipient = recipient
        self.reason = reason
        self.permanent = permanent
        self.code = code
        # the server refused the address itself (RCPT TO), not this message's content
        self.address_refused = address_refused


class HeaderError(DigestError, ValueError):
    """A header value would be unsafe (CR or LF) or invalid; the message is never sent."""
