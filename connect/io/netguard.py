"""Refuse outgoing requests to loopback, private, link-local and other non-public addresses (SSRF).

The check runs on the address actually connected to: host names are filtered inside the resolver
(so DNS rebinding between a check and the connect cannot slip through) and literal IPs are checked
before each request, on every redirect hop. Networks the operator lists
(``CONNECT_URL_ALLOW_NETWORKS=10.0.0.5/32``) are reachable even though they are private.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class BlockedAddress(OSError):
    pass


def parse_networks(setting: str) -> Networks:
    """'10.0.0.5/32, fd00::/8' -> networks; a bad entry raises ValueError naming it."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def permitted(address: str, allowed: Networks = ()) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return is_public(address) or any(ip in net for net in allowed if net.version == ip.version)


def check_literal_host(host: str, allowed: Networks = ()) -> None:
    bare = host.strip("[]")
    address = _numeric_address(bare)
    if address is None and not _looks_numeric(bare):
        return  # a name: the resolver checks what it resolves to
    if address is None or not permitted(address, allowed):
        raise BlockedAddress(f"{host} is not a public address")


def _numeric_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    try:
        # What the C library also reads as IPv4 and ipaddress refuses: 127.1, 2130706433, 0177.0.0.1, 0x7f.1.
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _looks_numeric(host: str) -> bool:
    # aiohttp connects to such hosts without asking the resolver (helpers.is_ip_address), so a form
    # we cannot read must be refused here rather than left to GuardedResolver.
    return ":" in host or host.replace(".", "").isdigit()


class GuardedResolver(AbstractResolver):
    def __init__(self, allowed: Networks = ()) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        blocked = [r["host"] for r in results if not permitted(r["host"], self._allowed)]
        if blocked:
            raise BlockedAddress(f"{host} resolves to {', '.join(blocked)}, which is not a public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def connector(allow_private: bool, allowed: Networks = ()) -> aiohttp.TCPConnector:
    kwargs: dict[str, Any] = {"limit": 32}
    if not allow_private:
        kwargs["resolver"] = GuardedResolver(allowed)
    return aiohttp.TCPConnector(**kwargs)
