"""The LLM backend against a real OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from digest.condense import Condenser
from digest.config import CondenseConfig
from digest.models import Article, Story
from digest.store import open_store

ARTICLES = Path(__file__).parent / "data" / "articles"
GOOD = {
    "headline": "Harbor City approves flood barrier",
    "summary": "Harbor City's council approved a $2.4 billion flood barrier.",
    "key_points": [
        {"text": "The vote was 7-2.", "source": 0},
        {"text": "Building starts in March 2027.", "source": 0},
        {"text": "The state pays 40%.", "source": 0},
    ],
}


def completion(content: str, tokens: int = 500) -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"total_tokens": tokens},
    }


class FakeLLM:
    """Replies from a script: each item is (status, body) or ("sleep", seconds)."""

    def __init__(self) -> None:
        self.script: list[tuple[Any, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                fake.requests.append(json.loads(self.rfile.read(length)))
                fake.auth.append(self.headers.get("authorization"))
                status, body = fake.script.pop(0) if fake.script else (500, {})
                if status == "sleep":
                    time.sleep(body)
                    status, body = 200, completion(json.dumps(GOOD))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture(scope="module")
def llm_server() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def llm(llm_server: FakeLLM) -> FakeLLM:
    llm_server.script, llm_server.requests, llm_server.auth = [], [], []
    return llm_server


def config(url: str, **kw: Any) -> CondenseConfig:
    base = {"backend": "llm", "base_url": url, "model": "m", "retries": 2, "backoff": 0, "timeout": 5.0}
    return CondenseConfig(**{**base, **kw})


def story(i: int = 0) -> Story:
    text = (ARTICLES / "messy-en.txt").read_text(encoding="utf-8") + f"\nExtra line {i}."
    when = datetime(2026, 11, 26, tzinfo=UTC)
    return Story(f"s{i}", (Article(f"a{i}", "f", "F", "Barrier", "", when, "", text),))


ENV = {"DIGEST_LLM_API_KEY": "sk-test"}


def test_good_reply(llm: FakeLLM) -> None:
    llm.script = [(200, completion(json.dumps(GOOD), tokens=321))]
    c = Condenser(config(llm.url), environ=ENV)
    out = c.condense_story(story())
    assert out.backend == "llm"
    assert out.headline == "Harbor City approves flood barrier"
    assert next(k.text for k in out.key_points) == "The vote was 7-2."
    assert llm.auth == ["Bearer sk-test"]
    req = llm.requests[0]
    assert req["model"] == "m"
    assert req["response_format"] == {"type": "json_object"}
    assert c.report.tokens_used == 321
    assert c.report.llm_calls == 1
    assert not c.report.fallbacks


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (completion("{not json"), "malformed reply"),
        (completion(json.dumps({"headline": "x"})), "invalid reply"),
        (b"<html>oops</html>", "malformed reply"),
        ({"choices": []}, "malformed reply"),
    ],
)
def test_bad_reply_falls_back(llm: FakeLLM, body: Any, reason: str) -> None:
    llm.script = [(200, body)]
    c = Condenser(config(llm.url), environ=ENV)
    out = c.condense_story(story())
    assert out.backend == "extractive"
    assert len(out.key_points) >= 3
    assert c.report.fallbacks[0].story == "s0"
    assert c.report.fallbacks[0].reason.startswith(reason)


def test_429_then_success(llm: FakeLLM) -> None:
    llm.script = [(429, {"error": "slow down"}), (503, {}), (200, completion(json.dumps(GOOD)))]
    c = Condenser(config(llm.url), environ=ENV)
    assert c.condense_story(story()).backend == "llm"
    assert c.report.llm_calls == 3
    assert not c.report.fallbacks


def test_persistent_5xx_falls_back_after_retries(llm: FakeLLM) -> None:
    llm.script = [(500, {})] * 3
    c = Condenser(config(llm.url), environ=ENV)
    assert c.condense_story(story()).backend == "extractive"
    assert c.report.llm_calls == 3
    assert c.report.fallbacks[0].reason.startswith("HTTP 500")


def test_client_error_is_not_retried(llm: FakeLLM) -> None:
    llm.script = [(401, {"error": "bad key"})]
    c = Condenser(config(llm.url), environ=ENV)
    assert c.condense_story(story()).backend == "extractive"
    assert c.report.llm_calls == 1


def test_timeout_falls_back(llm: FakeLLM) -> None:
    llm.script = [("sleep", 1.0)]
    c = Condenser(config(llm.url, timeout=0.2, retries=0), environ=ENV)
    assert c.condense_story(story()).backend == "extractive"
    assert "timed out" in c.report.fallbacks[0].reason


def test_token_budget_is_kept(llm: FakeLLM) -> None:
    llm.script = [(200, completion(json.dumps(GOOD), tokens=5000))] * 3
    c = Condenser(config(llm.url, token_budget=5400), environ=ENV)
    assert c.condense_story(story(1)).backend == "llm"
    assert c.condense_story(story(2)).backend == "extractive"
    assert len(llm.requests) == 1
    assert "budget" in c.report.fallbacks[0].reason
    assert c.report.as_dict()["tokens_used"] == 5000


def test_cache_is_shared_across_runs(llm: FakeLLM, tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    llm.script = [(200, completion(json.dumps(GOOD)))]
    Condenser(config(llm.url), cache=store, environ=ENV).condense_story(story())
    again = Condenser(config(llm.url), cache=store, environ=ENV)
    assert again.condense_story(story()).backend == "llm"
    assert len(llm.requests) == 1
    assert again.report.cached == 1
    # Another backend has its own entry: the extractive condenser does not reuse the LLM's text.
    assert Condenser(CondenseConfig(), cache=store).condense_story(story()).backend == "extractive"


def test_a_fallback_is_not_cached_so_the_next_run_asks_again(llm: FakeLLM, tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    llm.script = [(500, {})] * 3
    with Condenser(config(llm.url), cache=store, environ=ENV) as first:
        assert first.condense_story(story()).backend == "extractive"
    llm.script = [(200, completion(json.dumps(GOOD)))]
    with Condenser(config(llm.url), cache=store, environ=ENV) as again:
        assert again.condense_story(story()).backend == "llm"
        assert again.report.cached == 0
    store.close()
