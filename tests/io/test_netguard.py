from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from connect.io.netguard import BlockedAddress, GuardedResolver, check_literal_host, connector, is_public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        pytest.param("8.8.8.8", True, id="v4-public"),
        pytest.param("1.1.1.1", True, id="v4-public-2"),
        pytest.param("127.0.0.1", False, id="v4-loopback"),
        pytest.param("127.255.0.9", False, id="v4-loopback-range"),
        pytest.param("10.1.2.3", False, id="v4-private-10"),
        pytest.param("172.16.0.1", False, id="v4-private-172"),
        pytest.param("192.168.1.1", False, id="v4-private-192"),
        pytest.param("169.254.169.254", False, id="v4-link-local-metadata"),
        pytest.param("100.64.0.1", False, id="v4-shared-cgnat"),
        pytest.param("0.0.0.0", False, id="v4-unspecified"),
        pytest.param("224.0.0.1", False, id="v4-multicast"),
        pytest.param("255.255.255.255", False, id="v4-broadcast"),
        pytest.param("192.0.2.1", False, id="v4-documentation"),
        pytest.param("198.18.0.1", False, id="v4-benchmarking"),
        pytest.param("2001:4860:4860::8888", True, id="v6-public"),
        pytest.param("::1", False, id="v6-loopback"),
        pytest.param("::", False, id="v6-unspecified"),
        pytest.param("fe80::1", False, id="v6-link-local"),
        pytest.param("fe80::1%eth0", False, id="v6-link-local-scoped"),
        pytest.param("fc00::1", False, id="v6-unique-local"),
        pytest.param("fd12:3456::1", False, id="v6-unique-local-fd"),
        pytest.param("ff02::1", False, id="v6-multicast"),
        pytest.param("ff0e::1", False, id="v6-global-multicast"),
        pytest.param("2001:db8::1", False, id="v6-documentation"),
        pytest.param("::ffff:127.0.0.1", False, id="mapped-loopback"),
        pytest.param("::ffff:10.0.0.1", False, id="mapped-private"),
        pytest.param("::ffff:169.254.169.254", False, id="mapped-metadata"),
        pytest.param("::ffff:8.8.8.8", True, id="mapped-public"),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("[::1]", id="bracketed-v6"),
        pytest.param("::1", id="bare-v6"),
        pytest.param("[::ffff:127.0.0.1]", id="mapped"),
        pytest.param("[fe80::1%25eth0]", id="scoped-url-form"),
        pytest.param("127.1", id="short-form"),
        pytest.param("2130706433", id="decimal"),
        pytest.param("0177.0.0.1", id="octal"),
        pytest.param("0x7f.1", id="hex-parts"),
        pytest.param("10.1", id="short-private"),
        pytest.param("999.1.1.1", id="numeric-but-not-an-address"),
        pytest.param("[::ffff:127.1]", id="v6-unreadable"),
    ],
)
def test_check_literal_host_refuses(host: str) -> None:
    with pytest.raises(BlockedAddress, match="is not a public address"):
        check_literal_host(host)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("8.8.8.8", id="public-v4"),
        pytest.param("[2001:4860:4860::8888]", id="public-v6"),
        pytest.param("example.com", id="name"),
        pytest.param("localhost", id="name-left-to-the-resolver"),
        pytest.param("1.1", id="short-form-public"),
    ],
)
def test_check_literal_host_allows(host: str) -> None:
    check_literal_host(host)


def test_guarded_resolver_refuses_localhost() -> None:
    async def main() -> None:
        resolver = GuardedResolver()
        try:
            with pytest.raises(BlockedAddress, match=r"localhost resolves to .*127\.0\.0\.1.*not a public address"):
                await resolver.resolve("localhost", 80, socket.AF_INET)
        finally:
            await resolver.close()

    asyncio.run(main())


def test_guarded_resolver_refuses_numeric_names_the_c_library_reads_as_loopback() -> None:
    async def main() -> None:
        resolver = GuardedResolver()
        try:
            with pytest.raises(BlockedAddress):
                await resolver.resolve("0x7f000001", 80, socket.AF_INET)
        finally:
            await resolver.close()

    asyncio.run(main())


def fetch_local(allow_private: bool, host: str) -> str:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def main() -> str:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession(connector=connector(allow_private)) as session, session.get(f"http://{host}:{port}/") as r:
                return await r.text()
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_connector_reaches_local_servers_only_when_allowed() -> None:
    assert fetch_local(True, "localhost") == "hello"
    assert fetch_local(True, "127.0.0.1") == "hello"
    with pytest.raises(aiohttp.ClientConnectorError) as info:
        fetch_local(False, "localhost")
    assert isinstance(info.value.os_error, BlockedAddress)
