"""The condenser the pipeline calls: backend choice, fallback, caching and a run report."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import CondenseConfig, secret
from ..errors import CondenseError
from ..htmltext import html_to_text
from ..models import Article, Condensed, Story
from .extractive import Source, condense_sources
from .llm import LLMClient, LLMError


class CondenseCache(Protocol):
    """Where condensations are kept between runs (``digest.store.Store`` is one)."""

    def cached_condensation(self, key: str) -> Condensed | None:
        """The condensation stored under ``key``, or ``None``."""

    def cache_condensation(self, key: str, condensed: Condensed) -> None:
        """Store ``condensed`` under ``key`` (replacing what was there)."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """A story the LLM backend could not condense, so the extractive result was used."""

    story: str
    reason: str


@dataclass(frozen=True, slots=True)
class CondenseReport:
    """What a condenser did during a run, for the run summary."""

    backend: str = "extractive"
    condensed: int = 0  # stories condensed now (not from the cache)
    cached: int = 0
    failed: int = 0
    llm_calls: int = 0
    tokens_used: int = 0
    fallbacks: tuple[Fallback, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "backend": self.backend,
            "condensed": self.condensed,
            "cached": self.cached,
            "failed": self.failed,
            "llm_calls": self.llm_calls,
            "tokens_used": self.tokens_used,
            "fallbacks": [{"story": f.story, "reason": f.reason} for f in self.fallbacks],
        }


def cache_key(backend: str, max_key_points: int, sources: Sequence[Source]) -> str:
    """A content hash of what is condensed and how: equal input, equal key, whatever the run."""
    payload = json.dumps(
        [backend, max_key_points, [[s.title, s.text] for s in sources]], ensure_ascii=False
    ).encode("utf-8")
    return f"{backend.split(':', 1)[0]}:{hashlib.sha256(payload).hexdigest()}"


def article_source(article: Article, index: int) -> Source:
    """The text to condense of one article: its plain text, else the text of its HTML."""
    text = article.text if article.text.strip() else html_to_text(article.html)  # a fragment, not a page
    return Source(text, article.title or None, index, article.published)


class Condenser:
    """Condenses stories with the configured backend; falls back to the extractive one.

    Args:
        config: the ``[condense]`` section.
        cache: where condensations are kept by content hash (the store), or ``None``.
        environ: where the API key is read (``os.environ`` when ``None``).
    """

    def __init__(
        self,
        config: CondenseConfig,
        *,
        cache: CondenseCache | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config
        self._cache = cache
        self._llm: LLMClient | None = None
        if config.backend == "llm":
            env = os.environ if environ is None else environ
            self._llm = LLMClient(config, api_key=secret(config.api_key_env, env))
        self._counts = {"condensed": 0, "cached": 0, "failed": 0}
        self._fallbacks: list[Fallback] = []

    @property
    def backend_id(self) -> str:
        """The backend as it enters the cache key (an LLM's model included)."""
        if self._llm is None:
            return "extractive"
        return f"llm:{self._config.base_url}:{self._config.model}"

    def condense_story(self, story: Story) -> Condensed:
        """Condense a story of one or more articles; key points name their source article.

        Raises:
            CondenseError: no article of the story holds usable text (names the story).
        """
        sources = [article_source(a, i) for i, a in enumerate(story.articles)]
        key = cache_key(self.backend_id, self._config.max_key_points, sources)
        if self._cache is not None:
            hit = self._cache.cached_condensation(key)
            if hit is not None:
                self._counts["cached"] += 1
                return hit
        try:
            result = condense_sources(sources, max_key_points=self._config.max_key_points)
        except CondenseError as exc:
            self._counts["failed"] += 1
            raise CondenseError(f"story {story.id}: {exc}") from exc
        if self._llm is not None:
            result = self._try_llm(story.id, sources, result)
        self._counts["condensed"] += 1
        # a fallback is not the LLM's answer: keep it out of the cache, so a later run asks again
        if self._cache is not None and result.backend == ("llm" if self._llm else "extractive"):
            self._cache.cache_condensation(key, result)
        return result

    def _try_llm(self, story_id: str, sources: Sequence[Source], extractive: Condensed) -> Condensed:
        assert self._llm is not None
        try:
            return self._llm.condense(
                sources, max_key_points=self._config.max_key_points, language=extractive.language
            )
        except LLMError as exc:
            self._fallbacks.append(Fallback(story_id, exc.reason))
            return extractive

    def close(self) -> None:
        """Close the LLM backend's connections (nothing to close for the extractive one)."""
        if self._llm is not None:
            self._llm.close()

    def __enter__(self) -> Condenser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def report(self) -> CondenseReport:
        """Counts so far: condensed, cached, failed, LLM calls, fallbacks and tokens."""
        return CondenseReport(
            backend=self._config.backend,
            condensed=self._counts["condensed"],
            cached=self._counts["cached"],
            failed=self._counts["failed"],
            llm_calls=self._llm.calls if self._llm else 0,
            tokens_used=self._llm.tokens_used if self._llm else 0,
            fallbacks=tuple(self._fallbacks),
        )
