"""Download links shared through a real redis-server: a link published by one instance's FileLinks is found
by another's (name, type, expiry, bytes), kept there as a copy, expires with the link, and an unknown token
stays unknown."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from support.redis_server import RedisServer

from connect.cluster.downloads import ClusterLinks, link_key
from connect.cluster.link import RedisLink
from connect.cluster.view import Connection
from connect.io.links import FileLinks

TTL = 600.0


def test_a_link_published_on_one_instance_is_found_and_kept_by_another(tmp_path: Path) -> None:
    async def main(url: str) -> None:
        link = RedisLink(url, Connection(url))
        loop = asyncio.get_running_loop()
        made, other = FileLinks(tmp_path / "a", TTL), FileLinks(tmp_path / "b", TTL)
        made.shared = other.shared = ClusterLinks(link, loop)
        source = tmp_path / "out.png"
        source.write_bytes(b"\x89PNG the bytes")
        try:
            token = await asyncio.to_thread(made.publish, source, "out.png", "image/png", move=True)  # as rendering does
            assert other.lookup(token, "out.png") is None  # not made here
            found = await other.shared.find(other.key(token))
            assert found is not None
            shared, data = found
            assert (shared.name, shared.mime_type, data) == ("out.png", "image/png", b"\x89PNG the bytes")
            assert abs(shared.expires - (made.lookup(token, "out.png") or shared).expires) < 1e-6
            assert 0 < await link.client.ttl(link_key(other.key(token))) <= TTL  # Redis drops it with the link
            kept = await asyncio.to_thread(other.adopt, token, shared, data)
            assert kept is not None and other.lookup(token, "out.png") == kept and kept.path.read_bytes() == data
            assert await other.shared.find(other.key("no-such-token")) is None
        finally:
            await link.close()

    with RedisServer(tmp_path / "redis") as redis_server:
        asyncio.run(main(redis_server.url))


def test_an_expired_link_is_not_found_through_redis(tmp_path: Path) -> None:
    async def main(url: str) -> None:
        link = RedisLink(url, Connection(url))
        # a clock an hour behind and a one-hour TTL: the link expires the moment it is made
        made = FileLinks(tmp_path / "a", 3600.0, clock=lambda: time.time() - 3600.0)
        made.shared = ClusterLinks(link, asyncio.get_running_loop())
        source = tmp_path / "out.png"
        source.write_bytes(b"bytes")
        try:
            token = await asyncio.to_thread(made.publish, source, "out.png", "image/png", move=False)
            assert await link.client.exists(link_key(made.key(token)))  # still in Redis for its last second
            assert await made.shared.find(made.key(token)) is None  # but past its expiry: not served
        finally:
            await link.close()

    with RedisServer(tmp_path / "redis") as redis_server:
        asyncio.run(main(redis_server.url))
