"""digest: a newsletter digest generator.

Gathers recent articles from feeds, condenses each story offline, renders a responsive email
and delivers it, once, to every subscriber. The stages live in their own modules
(``digest.gather``, ``digest.condense``, ``digest.render``, ``digest.deliver``); the names
below are the stable entry points, imported lazily so ``import digest`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("digest")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

_EXPORTS = {
    "Article": "models",
    "Condensed": "models",
    "Edition": "models",
    "EditionStory": "models",
    "FeedSpec": "models",
    "KeyPoint": "models",
    "OutgoingMessage": "models",
    "Story": "models",
    "Subscriber": "models",
    "DigestError": "errors",
    "RunContext": "context",
    "Settings": "config",
    "load_config": "config",
    "open_store": "store",
    "run_edition": "pipeline",
}

__all__ = [
    "Article",
    "Condensed",
    "DigestError",
    "Edition",
    "EditionStory",
    "FeedSpec",
    "KeyPoint",
    "OutgoingMessage",
    "RunContext",
    "Settings",
    "Story",
    "Subscriber",
    "__version__",
    "load_config",
    "open_store",
    "run_edition",
]

if TYPE_CHECKING:
    from .config import Settings, load_config
    from .context import RunContext
    from .errors import DigestError
    from .models import (
        Article,
        Condensed,
        Edition,
        EditionStory,
        FeedSpec,
        KeyPoint,
        OutgoingMessage,
        Story,
        Subscriber,
    )
    from .pipeline import run_edition
    from .store import open_store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'digest' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
