"""Shared test fixtures. Tests that need ../shared skip with a reason where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared fixtures folder beside the clone; skips where it is absent (as in a user's clone)."""
    if not (SHARED / "fixtures").is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED} (present in CI beside the clone)")
    return SHARED


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
