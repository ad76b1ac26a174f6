"""SyncedWorkflows against a real redis-server: two instances' stores in one event loop, each with its
own folder and its own connection, converge by content hash; a stop of Redis leaves them serving."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import RedisServer
from support.workflows import canvas

from connect.cluster.link import RedisLink
from connect.cluster.sync import SyncedWorkflows
from connect.cluster.view import Connection
from connect.errors import NotFound
from connect.workflow.store import WorkflowStore


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


class Member:
    def __init__(self, folder: Path, url: str) -> None:
        self.local = WorkflowStore(folder)
        self.connection = Connection(url)
        self.link = RedisLink(url, self.connection, timeout=5)
        self.store = SyncedWorkflows(self.local, self.link)
        self.changes = 0
        self.store.on_change = self._count
        self.tasks = [asyncio.create_task(self.store.run()), asyncio.create_task(self.store.push_forever())]

    def _count(self) -> None:
        self.changes += 1

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.link.close()


async def until(condition: Callable[[], object], what: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.02)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_a_save_reaches_the_other_instance_byte_for_byte(tmp_path: Path, redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = Member(tmp_path / "a", redis_server.url), Member(tmp_path / "b", redis_server.url)
        await until(lambda: a.connection.up and b.connection.up, "both joined")
        a.store.save("team/pic", canvas(), {"ui": 1})
        await until(lambda: b.local.raw("team/pic") is not None, "the save on A is on B")
        assert b.local.raw("team/pic") == a.local.raw("team/pic")
        assert b.store.load("team/pic").workflow == {"ui": 1}
        assert b.changes >= 1  # B invalidates what it derived from its workflows
        await a.stop()
        await b.stop()

    run(scenario)


def test_a_delete_reaches_the_other_instance_and_a_late_joiner_gets_everything(tmp_path: Path, redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = Member(tmp_path / "a", redis_server.url), Member(tmp_path / "b", redis_server.url)
        await until(lambda: a.connection.up and b.connection.up, "both joined")
        a.store.save("one", canvas())
        a.store.save("two", canvas(width=8))
        await until(lambda: b.store.names() == ["one", "two"], "both saves on B")
        b.store.delete("one")
        await until(lambda: a.store.names() == ["two"], "the delete on B reaches A")
        with pytest.raises(NotFound):
            a.store.load("one")
        # A third instance with a stale copy of the deleted workflow: the tombstone removes it.
        WorkflowStore(tmp_path / "c").save("one", canvas())
        c = Member(tmp_path / "c", redis_server.url)
        await until(lambda: c.store.names() == ["two"], "the late joiner has exactly the cluster's workflows")
        assert c.local.raw("two") == a.local.raw("two")
        for member in (a, b, c):
            await member.stop()

    run(scenario)


def test_the_first_instance_seeds_the_cluster_with_what_it_had(tmp_path: Path, redis_server: RedisServer) -> None:
    async def scenario() -> None:
        WorkflowStore(tmp_path / "a").save("before", canvas())
        a = Member(tmp_path / "a", redis_server.url)
        b = Member(tmp_path / "b", redis_server.url)
        await until(lambda: b.store.names() == ["before"], "A's own workflow reached B")
        await a.stop()
        await b.stop()

    run(scenario)


def test_last_writer_wins_and_everyone_agrees(tmp_path: Path, redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = Member(tmp_path / "a", redis_server.url), Member(tmp_path / "b", redis_server.url)
        await until(lambda: a.connection.up and b.connection.up, "both joined")
        a.store.save("same", canvas(width=8))
        b.store.save("same", canvas(width=16))
        await until(lambda: a.local.raw("same") is not None and a.local.raw("same") == b.local.raw("same"), "A and B hold the same version")
        stamp, data = await a.link.fetch("same")
        assert stamp is not None and data is not None and data == a.local.raw("same")
        assert stamp.hash == hashlib.sha256(data).hexdigest()
        await a.stop()
        await b.stop()

    run(scenario)


def test_without_redis_it_serves_its_copy_and_pushes_on_reconnect(tmp_path: Path, redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, b = Member(tmp_path / "a", redis_server.url), Member(tmp_path / "b", redis_server.url)
        await until(lambda: a.connection.up and b.connection.up, "both joined")
        a.store.save("kept", canvas())
        await until(lambda: b.store.names() == ["kept"], "synced before the outage")
        redis_server.stop()
        await until(lambda: not a.connection.up and not b.connection.up, "both see Redis down")
        assert a.store.load("kept").name == "kept"  # still served from the local copy
        a.store.save("offline", canvas())  # answered at once; waits for Redis
        redis_server.start()
        await until(lambda: b.store.names() == ["kept", "offline"], "the change made offline reached B after the restart")
        await until(lambda: a.connection.up and b.connection.up, "both see Redis up again")
        await a.stop()
        await b.stop()

    run(scenario)
