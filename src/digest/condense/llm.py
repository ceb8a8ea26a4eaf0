"""The optional LLM backend: any OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM,
a llama.cpp server). It asks for JSON, validates it, retries transient failures with backoff,
and keeps to a token budget per run. Every failure is an :class:`LLMError` with a short reason;
the condenser then uses the extractive result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, Field, ValidationError

from ..errors import Failure
from ..models import Condensed, KeyPoint
from .compress import clean_headline, finish, fit, shorten
from .extractive import MAX_POINT_WORDS, MAX_SUMMARY_WORDS

if TYPE_CHECKING:
    from ..config import CondenseConfig
    from .extractive import Source

_SYSTEM = (
    "You are a news editor. Condense the story told by the numbered articles below. Reply with one "
    'JSON object only: {"headline": string (at most 16 words), "summary": string (1-2 sentences, '
    'at most 60 words, who did what), "key_points": [{"text": string (one fact, under 30 words), '
    '"source": number of the article it comes from}] (3 to MAX distinct facts not repeating the '
    "summary or each other)}. Use only facts stated in the articles. Write in the articles' language."
)


class LLMError(Failure):
    """The LLM backend could not condense a story; ``reason`` says why in a few words."""


class _Point(BaseModel):
    text: Annotated[str, Field(min_length=1)]
    source: Annotated[int, Field(ge=0)] = 0


class _Reply(BaseModel):
    headline: Annotated[str, Field(min_length=1)]
    summary: Annotated[str, Field(min_length=1)]
    key_points: Annotated[list[_Point | str], Field(min_length=1, max_length=8)]


def _transient(status: int) -> bool:
    return status == 429 or status >= 500


class LLMClient:
    """A chat-completions client that condenses stories.

    Args:
        config: the ``[condense]`` section (base_url, model, timeout, retries, token_budget).
        api_key: the bearer token, or ``None`` for servers that need none (a local Ollama).
        client: an httpx client to use (tests hand one in); one is made when ``None``.
        sleep: how to wait between retries.
    """

    def __init__(
        self,
        config: CondenseConfig,
        *,
        api_key: str | None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = config
        self._url = f"{(config.base_url or '').rstrip('/')}/chat/completions"
        self._shown = _without_secrets(self._url)  # what errors name: no user, password or query
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=config.timeout, headers=headers)
        if client is not None:
            self._client.headers.update(headers)
        self._sleep = sleep
        self.calls = 0
        self.tokens_used = 0

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _messages(self, sources: Sequence[Source], max_key_points: int) -> list[dict[str, str]]:
        limit = self._config.max_input_chars
        parts = [f"[{s.index}] {s.title or '(no title)'}\n{s.text[:limit]}" for s in sources]
        return [
            {"role": "system", "content": _SYSTEM.replace("MAX", str(max_key_points))},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    def _post(self, body: dict[str, object]) -> httpx.Response:
        """POST with retries on timeouts, connection errors, 429 and 5xx."""
        attempts = self._config.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            wait = self._config.backoff * 2**attempt
            try:
                self.calls += 1
                response = self._client.post(self._url, json=body, timeout=self._config.timeout)
            except httpx.TimeoutException as exc:
                if last:
                    raise LLMError(f"timed out after {attempts} attempts") from exc
            except httpx.HTTPError as exc:
                if last:
                    raise LLMError(f"cannot reach {self._shown}: {type(exc).__name__}") from exc
            else:
                if response.is_success:
                    return response
                if not _transient(response.status_code) or last:
                    raise LLMError(f"HTTP {response.status_code} from {self._shown}")
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), 60.0) if self._config.backoff else 0.0
            self._sleep(wait)
        raise LLMError("no attempt made")  # only when retries < 0, which config forbids

    def condense(self, sources: Sequence[Source], *, max_key_points: int, language: str) -> Condensed:
        """Condense a story with the LLM.

        Raises:
            LLMError: budget exhausted, HTTP failure after retries, or an invalid reply.
        """
        messages = self._messages(sources, max_key_points)
        estimate = sum(len(m["content"]) for m in messages) // 4
        budget = self._config.token_budget
        if self.tokens_used + estimate > budget:
            raise LLMError(f"token budget exhausted ({self.tokens_used} of {budget} used)")
        body: dict[str, object] = {
            "model": self._config.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        response = self._post(body)
        try:
            data = response.json()
            self.tokens_used += int(data.get("usage", {}).get("total_tokens") or estimate)
            content = data["choices"][0]["message"]["content"]
            reply = _Reply.model_validate(json.loads(content))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            kind = "invalid reply" if isinstance(exc, ValidationError) else "malformed reply"
            raise LLMError(f"{kind}: {str(exc).splitlines()[0][:120]}") from exc
        return _to_condensed(reply, len(sources), max_key_points, language)


def _to_condensed(reply: _Reply, n_sources: int, max_key_points: int, language: str) -> Condensed:
    points: list[KeyPoint] = []
    for p in reply.key_points:
        text, source = (p, 0) if isinstance(p, str) else (p.text, p.source)
        text = " ".join(text.split())
        if text:
            points.append(
                # A clause boundary when there is one; an ellipsis only for a run-on without any.
                KeyPoint(
                    finish(fit(text, MAX_POINT_WORDS) or shorten(text, MAX_POINT_WORDS)),
                    source if source < n_sources else 0,
                )
            )
    if len(points) < 3:
        raise LLMError(f"invalid reply: {len(points)} key points, need at least 3")
    summary = " ".join(reply.summary.split())
    summary = finish(fit(summary, MAX_SUMMARY_WORDS) or shorten(summary, MAX_SUMMARY_WORDS))
    return Condensed(
        clean_headline(reply.headline),
        summary,
        tuple(points[:max_key_points]),
        language=language,
        backend="llm",
    )


def _without_secrets(url: str) -> str:
    """A URL as errors may show it: no user name, password, query or fragment. Contains no I/O."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urlunsplit((parts.scheme, f"{parts.hostname or ''}{port}", parts.path, "", ""))
