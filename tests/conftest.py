"""Shared test fixtures. Tests that need ../shared skip with a reason where it is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.store import Store, open_store
from pg_server import Cluster, cluster
from smtpd_helpers import Server, smtp_server

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared fixtures folder beside the clone; skips where it is absent (as in a user's clone)."""
    if not (SHARED / "fixtures").is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED} (present in CI beside the clone)")
    return SHARED


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test session (Debian's binaries, a free port on loopback)."""
    try:
        with cluster() as running:
            yield running
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL for the tests: {exc}")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store's URL: each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'digest.db'}"
    running: Cluster = request.getfixturevalue("pg_cluster")
    return running.fresh_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A new store, open (tests reach it through its API, never its file)."""
    with open_store(store_url) as s:
        yield s


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's headless Chromium through Selenium (tests/test_browser.py, test_desk_browser.py)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); apt-get install them"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # An explicit driver path: Selenium Manager (which downloads browsers) never runs.
    drv = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture
def smtpd() -> Iterator[Server]:
    """A real SMTP server (aiosmtpd) on loopback that records what it accepts."""
    with smtp_server() as server:
        yield server
