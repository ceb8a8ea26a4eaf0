"""The SSRF guard for links that come from feed content.

A feed's author chooses its entries' links, so fetching them could reach the editor's own
network (a router, a cloud metadata service on 169.254.169.254, a database on localhost).
The guard sits where connections are made: every TCP connection, including each redirect
hop, resolves the host, refuses private, loopback, link-local and other non-public
addresses, and connects to the address it checked (so a second DNS answer cannot differ).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

# IPv6 forms that carry an IPv4 address the packet ends up at, so that address is the one to
# judge: IPv4-mapped, and NAT64's well-known prefix (a DNS64 network answers with it for
# every IPv4-only site, so those stay usable when the embedded address is public).
_EMBEDDING = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96"))
# Refused whatever they embed: 6to4 and Teredo go through relays to an address the sender
# chooses (Teredo's is even obfuscated); local-use NAT64 is not global by definition; the
# IPv4-compatible and IPv4-translated forms are deprecated. None of them serves a web page.
_REFUSED = tuple(
    ipaddress.IPv6Network(n) for n in ("2002::/16", "2001::/32", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (not private, loopback, link-local ...).

    An IPv4-mapped or NAT64 address is judged by the IPv4 address it embeds; 6to4, Teredo
    and the deprecated IPv4-compatible forms are never public here.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED):
            return False
        if any(ip in net for net in _EMBEDDING):
            return _is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return bool(
        ip.is_global
        and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast)
        and not (ip.is_reserved or ip.is_unspecified)
    )


class RefusedAddress(httpcore.ConnectError):
    """The host resolves only to addresses the guard refuses."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to public addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        allowed = [a for a in addresses if is_public_address(a)]
        if not allowed:
            shown = ", ".join(addresses[:3]) or "nothing"
            raise RefusedAddress(f"refused: {host} resolves to a non-public address ({shown})")
        last: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("refused: unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(limits: httpx.Limits, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through :class:`GuardedBackend`.

    Environment proxies are ignored on purpose: through a proxy the guard would only see
    the proxy's address.
    """
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False, verify=tls)
    # httpx has no public switch for the network backend; replace the pool it built with
    # the same settings plus the guard (tests/test_gather_units.py fails if this breaks).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(),
    )
    return transport
