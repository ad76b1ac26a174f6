"""The in-memory job store: lookups, filters, and the bounds on size and age."""

from __future__ import annotations

import asyncio

from connect.io.outputs import FileRef
from connect.run.jobs import CANCELLED, QUEUED, SUCCEEDED, JobQuery, JobRecord, MemoryJobStore


def job(n: int, workflow: str = "w", status: str = SUCCEEDED, finished: float | None = 100.0, scope: str | None = None) -> JobRecord:
    record = JobRecord(id=f"j{n}", workflow=workflow, prompt_id=f"p{n}", owner=None, timeout=60, created_at=float(n), status=status)
    record.finished_at = finished if status != QUEUED else None
    record.outputs = {"out": [FileRef("a.png", "", "output")]} if status == SUCCEEDED else None
    record.idempotency_scope = scope
    return record


def test_lookups_and_filters_newest_first() -> None:
    async def check() -> None:
        store = MemoryJobStore(10, 1000, 1000)
        for record in (job(1), job(2, "other"), job(3, status=CANCELLED), job(4, status=QUEUED, scope="k")):
            await store.put(record)
        assert [j.id for j in await store.select(JobQuery())] == ["j4", "j3", "j2", "j1"]
        assert [j.id for j in await store.select(JobQuery(workflow="w", status=SUCCEEDED))] == ["j1"]
        assert [j.id for j in await store.select(JobQuery(limit=2))] == ["j4", "j3"]
        assert (await store.find("k")) is await store.get("j4")
        await store.remove("j4")
        assert await store.find("k") is None and await store.get("j4") is None

    asyncio.run(check())


def test_outputs_expire_before_the_record_and_records_expire_by_age() -> None:
    async def check() -> None:
        store = MemoryJobStore(10, ttl=100, result_ttl=10)
        await store.put(job(1, finished=100.0, scope="s"))
        assert await store.prune(105.0) == []
        kept = await store.get("j1")
        assert kept is not None and kept.outputs is not None
        assert await store.prune(111.0) == []
        assert kept.outputs is None and kept.result_expired
        assert await store.prune(201.0) == ["j1"]
        assert await store.get("j1") is None and await store.find("s") is None

    asyncio.run(check())


def test_over_the_size_bound_the_oldest_finished_go_and_unfinished_stay() -> None:
    async def check() -> None:
        store = MemoryJobStore(2, 1000, 1000)
        await store.put(job(1, status=QUEUED))
        for n in (2, 3, 4):
            await store.put(job(n))
        assert await store.prune(100.0) == ["j2", "j3"]
        assert [j.id for j in await store.select(JobQuery())] == ["j4", "j1"]

    asyncio.run(check())
