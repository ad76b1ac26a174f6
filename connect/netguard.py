"""Refuse outgoing requests to loopback, private, link-local and other non-public addresses (SSRF).

The check runs on the address actually connected to: host names are filtered inside the resolver
(so DNS rebinding between a check and the connect cannot slip through) and literal IPs are checked
before each request, on every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult


class BlockedAddress(OSError):
    pass


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_literal_host(host: str) -> None:
    """Refuse a non-public address written in the URL itself.

    aiohttp skips the resolver for any host made of digits and dots (or holding a ':'), and the OS
    then reads shorthand forms such as ``2130706433``, ``127.1`` or ``0177.0.0.1`` as 127.0.0.1: judge
    those the way the OS will read them (``inet_aton``), not with the stricter ``ipaddress``.
    """
    bare = host.strip("[]")
    if ":" not in bare and not bare.replace(".", "").isdigit():
        return  # a name: the resolver checks what it resolves to
    try:
        address = bare if ":" in bare else socket.inet_ntoa(socket.inet_aton(bare))
        public = is_public(address)
    except (OSError, ValueError):
        raise BlockedAddress(f"{host} is not a valid IP address") from None
    if not public:
        raise BlockedAddress(f"{host} is not a public address")


class GuardedResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        blocked = [r["host"] for r in results if not is_public(r["host"])]
        if blocked:
            raise BlockedAddress(f"{host} resolves to {', '.join(blocked)}, which is not a public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def connector(allow_private: bool) -> aiohttp.TCPConnector:
    kwargs: dict[str, Any] = {"limit": 32}
    if not allow_private:
        kwargs["resolver"] = GuardedResolver()
    return aiohttp.TCPConnector(**kwargs)
