"""The public API is what `digest.__all__` and the stage packages export; pin it."""

from __future__ import annotations

import digest
import digest.testing
from digest.testing import MemoryTransport, make_article, sample_edition


def test_exported_members() -> None:
    assert digest.__all__ == [
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
    for name in digest.__all__:
        assert hasattr(digest, name), name


def test_testing_helpers() -> None:
    a = make_article("Officials said <b> was a tag.\n\nSecond paragraph.", title="T")
    assert a.html == "<p>Officials said &lt;b&gt; was a tag.</p><p>Second paragraph.</p>"
    assert a.id == make_article("Officials said <b> was a tag.\n\nSecond paragraph.", title="T").id
    assert len(sample_edition(stories=4).stories) == 4
    assert MemoryTransport().outbox == []
    assert set(digest.testing.__all__) == {"MemoryTransport", "make_article", "sample_edition"}


def test_lazy_exports_match_the_list() -> None:
    import importlib

    d = importlib.import_module("digest")
    assert sorted([*d._EXPORTS, "__version__"]) == d.__all__
