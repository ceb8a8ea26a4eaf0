"""What every command shares: loading settings, options, and mapping errors to exit codes."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console

from ..config import Settings, load_config
from ..errors import DigestError

P = ParamSpec("P")
R = TypeVar("R")

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (TOML). Default: ./digest.toml, or built-in defaults when absent.",
)
db_option = click.option(
    "--db",
    "db",
    type=str,
    default=None,
    help="Store: a SQLite file or a SQLAlchemy URL. Overrides 'store' in the config.",
)

transport_option = click.option(
    "--transport",
    metavar="URL",
    help="Where to deliver: smtp://[user@]host:port, smtps://host:port or file:DIR. Overrides the config.",
)
subscribers_option = click.option(
    "--subscribers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Subscribers CSV merged into the store before sending. Overrides the config.",
)


def transport_url(url: str | None) -> str | None:
    """A relative ``file:`` folder on the command line is relative to the current folder."""
    if url and url.startswith("file:") and not url.startswith("file://"):
        return f"file:{Path(url[5:]).resolve()}"
    return url


def console(stderr: bool = True) -> Console:
    """A console for progress and summaries; stderr keeps stdout clean for JSON and paths."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> None:
    """Print a one-line error and exit with ``code``."""
    click.echo(f"digest: error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn each DigestError into a one-line message and its exit code; no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DigestError as exc:
            fail(str(exc), exc.exit_code)
            raise AssertionError("unreachable") from exc
        except KeyboardInterrupt:
            fail("interrupted", 130)
            raise AssertionError("unreachable") from None

    return wrapper


def settings(config_path: Path | None, **overrides: Any) -> Settings:
    """Load the config and apply command-line overrides (flags win over the file)."""
    s = load_config(config_path)
    updates = {k: v for k, v in overrides.items() if v is not None}
    return s.model_copy(update=updates) if updates else s


def store_url(s: Settings, db: str | None) -> str:
    """The store named by ``--db`` (relative to the current folder), else the config's."""
    if db is None:
        return s.store_url
    return db if "://" in db else f"sqlite:///{Path(db)}"


@contextmanager
def stop_signals(what: str = "sending") -> Iterator[threading.Event]:
    """SIGTERM and Ctrl-C set the yielded event: no new message is claimed, those in flight
    finish and are recorded, the claims left are given back. A second signal interrupts."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        click.echo(
            f"digest: {signal.Signals(signum).name}: stopping {what} after the messages in flight", err=True
        )
        stop.set()

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
