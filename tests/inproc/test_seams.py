"""Each protocol's in-process implementation: it has every member, and the new small classes behave."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.fake_engine import FakeEngine

from connect.comfy.adapter import ComfyAdapter
from connect.comfy.engine import Host
from connect.run.events import EventHub, JobEvents
from connect.run.idempotency import IdempotencyLock, LocalIdempotencyLock
from connect.run.jobs import JobStore, MemoryJobStore
from connect.run.jobstore_sqlite import SqliteJobStore
from connect.run.limits import AdmissionCounters, LocalCounters
from connect.workflow.store import Workflows, WorkflowStore


def members(protocol: type) -> set[str]:
    own = (cls for cls in protocol.__mro__ if cls.__dict__.get("_is_protocol") and cls.__name__ != "Protocol")
    return {name for cls in own for name in vars(cls) if not name.startswith("_")}


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        pytest.param(Host, ComfyAdapter, id="host-comfyui"),
        pytest.param(Host, FakeEngine, id="host-fake"),
        pytest.param(JobStore, MemoryJobStore, id="job-store"),
        pytest.param(JobStore, SqliteJobStore, id="job-store-sqlite"),
        pytest.param(JobEvents, EventHub, id="job-events"),
        pytest.param(IdempotencyLock, LocalIdempotencyLock, id="idempotency-lock"),
        pytest.param(AdmissionCounters, LocalCounters, id="admission-counters"),
        pytest.param(Workflows, WorkflowStore, id="workflows"),
    ],
)
def test_the_implementation_has_every_member_of_its_protocol(protocol: type, implementation: type) -> None:
    # mypy checks the signatures where plugin.setup() passes each implementation; this catches a
    # member added to a protocol that an implementation mypy does not see (the fake, in tests/) lacks.
    assert members(protocol), protocol
    assert sorted(name for name in members(protocol) if not hasattr(implementation, name)) == []


def test_the_idempotency_lock_serializes_one_scope_only() -> None:
    async def check() -> list[str]:
        lock, order = LocalIdempotencyLock(), []

        async def hold(scope: str, name: str, inside: asyncio.Event | None = None) -> None:
            async with lock.hold(scope):
                order.append(f"{name} in")
                if inside is not None:
                    await inside.wait()
                order.append(f"{name} out")

        release = asyncio.Event()
        first = asyncio.create_task(hold("a", "first", release))
        await asyncio.sleep(0)
        second = asyncio.create_task(hold("a", "second"))
        await hold("b", "other")  # another scope is not held up
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, second)
        assert len(lock) == 0
        return order

    assert asyncio.run(check()) == ["first in", "other in", "other out", "first out", "second in", "second out"]


def test_the_idempotency_lock_is_released_by_an_error_and_survives_a_cancelled_waiter() -> None:
    async def check() -> None:
        lock = LocalIdempotencyLock()
        with pytest.raises(RuntimeError, match="boom"):
            async with lock.hold("a"):
                raise RuntimeError("boom")
        release = asyncio.Event()

        async def hold_until_released() -> None:
            async with lock.hold("a"):
                await release.wait()

        holder = asyncio.create_task(hold_until_released())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(hold_until_released())
        await asyncio.sleep(0)
        waiter.cancel()
        release.set()
        await holder  # not cancelled with the waiter
        assert waiter.cancelled() and len(lock) == 0

    asyncio.run(check())


def test_local_counters_check_and_count_at_once() -> None:
    counters = LocalCounters()
    taken: list[Any] = [counters.take("k", max_per_client=2, max_queue=3, queue_depth=0) for _ in range(3)]
    assert [c.taken for c in taken] == [True, True, False] and taken[2].mine == 2
    assert counters.take("other", 2, 3, queue_depth=3).taken is False  # the queue is full
    assert counters.take("other", 2, 3, queue_depth=0).taken is True and counters.total() == 3
    refused = counters.take("third", 2, 3, queue_depth=0)  # in flight counts when the queue reads less
    assert not refused.taken and refused.depth == 3
    counters.give_back("k")
    assert counters.total() == 2
