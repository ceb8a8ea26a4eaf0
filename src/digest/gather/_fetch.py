"""Fetching bytes over HTTP like a good feed citizen.

Bounded concurrency with a per-host limit, explicit connect/read/total timeouts, a maximum
body size enforced while streaming (and while decompressing: see ``_decode``), redirects
followed by hand (so permanent moves are recorded and every hop is checked), gzip,
conditional GET and a User-Agent naming digest. Only this module talks to the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from .. import __version__
from ..config import GatherConfig
from ..errors import Failure
from ._decode import ACCEPT_ENCODING, BodyError, BoundedBody
from ._guard import guarded_transport

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}


def default_user_agent() -> str:
    return f"digest/{__version__} (newsletter digest generator; +https://pypi.org/project/digest/)"


class FetchError(Failure):
    """A fetch failed; ``reason`` is a short phrase for the run summary."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response: 200 with its body, or 304 (``body`` empty)."""

    url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    moved_to: str | None = None  # set when every redirect on the way was permanent


class Fetcher:
    """An async HTTP fetcher shared by every feed and page of one run. Use ``async with``."""

    def __init__(self, config: GatherConfig) -> None:
        self.config = config
        timeout = httpx.Timeout(
            connect=config.connect_timeout, read=config.read_timeout, write=config.read_timeout, pool=None
        )
        limits = httpx.Limits(
            max_connections=config.concurrency * 2, max_keepalive_connections=config.concurrency
        )
        # only the encodings _read can decode within max_bytes (httpx would add br, zstd)
        headers = {
            "User-Agent": config.user_agent or default_user_agent(),
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        # one TLS context for both clients: loading the CA store costs ~15 ms each time
        tls = httpx.create_ssl_context(trust_env=False)
        common = {"timeout": timeout, "headers": headers, "follow_redirects": False}
        self._trusted = httpx.AsyncClient(limits=limits, verify=tls, **common)  # type: ignore[arg-type]
        self._guarded = (
            self._trusted
            if config.allow_private_addresses
            else httpx.AsyncClient(transport=guarded_transport(limits, tls), **common)  # type: ignore[arg-type]
        )
        self._slots = asyncio.Semaphore(config.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._trusted.aclose()
        if self._guarded is not self._trusted:
            await self._guarded.aclose()

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.config.per_host)
        return self._hosts[host]

    async def fetch(
        self,
        url: str,
        *,
        trusted: bool,
        accept: str = FEED_ACCEPT,
        conditional: Mapping[str, str] | None = None,
    ) -> Fetched:
        """GET ``url``, following up to five redirects.

        Args:
            trusted: ``True`` for URLs the editor named (a redirect to another host is
                guarded all the same); ``False`` puts every connection behind the SSRF guard
                (unless the config allows private addresses).
            conditional: ``If-None-Match`` / ``If-Modified-Since`` headers to send.

        Raises:
            FetchError: any failure, with a reason (HTTP status, timeout, size, refused ...).
        """
        client = self._trusted if trusted else self._guarded
        named_host = (urlsplit(url).hostname or "").lower()
        headers = {"Accept": accept, **(conditional or {})}
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        visited = {url}
        permanent = True
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                raise FetchError(f"refused: not an http(s) URL: {url[:200]}")
            async with self._host_slot(url), self._slots:
                if deadline is None:  # the total timeout starts once a slot is ours
                    deadline = loop.time() + self.config.total_timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        status, location, result = await self._get(client, url, headers)
                except TimeoutError:
                    raise FetchError(f"took longer than {self.config.total_timeout:g} s") from None
            if result is not None:
                moved = result.url if permanent and len(visited) > 1 else None
                return Fetched(result.url, result.status, result.headers, result.body, moved)
            permanent = permanent and status in _PERMANENT
            url = urljoin(url, location)
            if (urlsplit(url).hostname or "").lower() != named_host:
                # the editor trusted that host, not wherever it sends us: guard the other hosts
                client = self._guarded
            if url in visited:
                raise FetchError(f"redirect loop at {url[:200]}")
            visited.add(url)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _get(
        self, client: httpx.AsyncClient, url: str, headers: Mapping[str, str]
    ) -> tuple[int, str, Fetched | None]:
        """One request: (status, redirect location, None) or (status, "", response)."""
        try:
            async with client.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                if status in _REDIRECTS:
                    location = resp.headers.get("location", "").strip()
                    if not location:
                        raise FetchError(f"HTTP {status} without a Location header")
                    return status, location, None
                hdrs = {k.lower(): v for k, v in resp.headers.items()}
                if status == 304:
                    return status, "", Fetched(str(resp.url), 304, hdrs, b"")
                if status >= 400 or status < 200:
                    raise FetchError(f"HTTP {status} {resp.reason_phrase}".strip())
                body = await self._read(resp)
                return status, "", Fetched(str(resp.url), status, hdrs, body)
        except httpx.TimeoutException as exc:
            kind = type(exc).__name__.removesuffix("Timeout").lower() or "request"
            raise FetchError(f"{kind} timeout") from exc
        except httpx.ConnectError as exc:
            raise FetchError(
                str(exc) if str(exc).startswith("refused") else f"cannot connect: {exc}"
            ) from exc
        except httpx.InvalidURL as exc:  # also raised for a redirect to a malformed Location
            raise FetchError(f"refused: invalid URL ({exc})") from exc
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, resp: httpx.Response) -> bytes:
        """The decoded body, stopping as soon as it exceeds ``max_bytes``.

        The raw bytes are decoded here, a bounded piece at a time, rather than by httpx,
        which inflates a whole network read at once (a gzip bomb would pass the limit a
        hundredfold before it could be counted).
        """
        limit = self.config.max_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body of {int(declared)} bytes exceeds the {limit}-byte limit (max_bytes)")
        try:
            body = BoundedBody(resp.headers.get("content-encoding", ""), limit)
            async for chunk in resp.aiter_raw():
                body.feed(chunk)
        except BodyError as exc:
            raise FetchError(exc.reason) from exc
        return body.value()
