"""What every command shares: finding and loading the config, options, saying which config
and store a command uses, and mapping errors to exit codes."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from rich.console import Console

from ..errors import DigestError

if TYPE_CHECKING:  # imported where used: `digest condense` needs neither the config nor the store
    from ..config import Settings
    from ..context import RunContext
    from ..store import Store

P = ParamSpec("P")
R = TypeVar("R")

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (TOML). Default: the file named by $DIGEST_CONFIG, else ./digest.toml.",
)
db_option = click.option(
    "--db",
    "db",
    type=str,
    default=None,
    help="Store: a SQLite file or a SQLAlchemy URL. Overrides 'store' in the config.",
)
# for the commands that only read or write the store: --db alone is enough to run them
store_db_option = click.option(
    "--db",
    "db",
    type=str,
    default=None,
    help="Store: a SQLite file or a SQLAlchemy URL. Overrides 'store' in the config; "
    "given without a config, the command runs on the built-in defaults (timezone UTC).",
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


@dataclass(frozen=True)
class Setup:
    """What a command runs with: the settings, the file they came from (``None``: the built-in
    defaults, for a store-only command given ``--db``), and the store's URL."""

    settings: Settings
    config: Path | None
    store_url: str

    def describe(self) -> str:
        """One line naming the config and the store, the store's password hidden."""
        config = shown_path(self.config) if self.config else "none (built-in defaults)"
        return f"digest: config {config}; store {shown_store(self.store_url)}"

    def open(self, *, announce: bool = True, read_only: bool = False) -> Store:
        """Open the store, first saying on stderr (dim) which config and store are used.

        ``announce=False`` where stdout carries data (``--json``, an export): a script that
        captures both streams together still gets clean data. ``read_only`` for a command
        that only reads: it creates no store and no folder, and opens one it cannot write
        (a read-only filesystem) read-only.
        """
        from ..store import open_store

        if announce:
            console().print(self.describe(), style="dim", markup=False)
        return open_store(
            self.store_url, pool=self.settings.store_pool, create=not read_only, read_only=read_only
        )


def run_context(used: Setup, store: Store, *, transport: str | None = None, **more: Any) -> RunContext:
    """What the pipeline is given for a command run now: the settings, the store, this process's
    environment, the ``--transport`` override (a relative ``file:`` folder read from here)."""
    from ..context import RunContext

    return RunContext(
        used.settings,
        store,
        now=datetime.now(UTC),
        environ=os.environ,
        transport_url=transport_url(transport),
        **more,
    )


def setup(config_path: Path | None, db: str | None, *, store_only: bool = False, **overrides: Any) -> Setup:
    """Find and load the config, apply the command-line overrides (flags win over the file),
    and name the store.

    Args:
        store_only: the command only reads or writes the store, so ``--db`` alone will do
            when no config is found.

    Raises:
        ConfigMissing: no config named or found (and, for a store-only command, no ``--db``).
        ConfigError: the config cannot be read or is invalid.
    """
    from ..config import ConfigMissing, default_settings, find_config, load_config

    try:
        path: Path | None = find_config(config_path, os.environ)
    except ConfigMissing:
        if not (store_only and db):
            raise
        path = None
    s = load_config(path) if path else default_settings(Path.cwd())
    updates = {k: v for k, v in overrides.items() if v is not None}
    if updates:
        s = s.model_copy(update=updates)
    return Setup(s, path, store_url(s, db))


def settings(config_path: Path | None, **overrides: Any) -> Settings:
    """The config's settings with command-line overrides (see :func:`setup`)."""
    return setup(config_path, None, **overrides).settings


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


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def shown_store(url: str) -> str:
    """A store as it may be shown: a SQLite file as its path (relative when inside the current
    folder), any other URL without its password (``postgresql://digest:***@db/news``)."""
    if url == "sqlite:///:memory:":
        return url
    from ..store.core import shown_url

    shown = shown_url(url)
    return shown_path(Path(shown.split("?", 1)[0])) if url.startswith("sqlite:///") else shown
