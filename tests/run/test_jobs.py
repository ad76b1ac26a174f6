"""The job stores, memory and SQLite, against one contract: lookups, filters, the bounds on size and age."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connect.errors import Unavailable
from connect.io.outputs import FileRef
from connect.run.jobs import CANCELLED, QUEUED, RUNNING, SUCCEEDED, JobQuery, JobRecord, JobStore, MemoryJobStore, Plan, WebhookState
from connect.run.jobstore_sqlite import SqliteJobStore

Make = Callable[..., JobStore]


def job(n: int, workflow: str = "w", status: str = SUCCEEDED, finished: float | None = 100.0, scope: str | None = None) -> JobRecord:
    record = JobRecord(id=f"j{n}", workflow=workflow, prompt_id=f"p{n}", owner=None, timeout=60, created_at=float(n), status=status)
    record.finished_at = finished if status not in (QUEUED, RUNNING) else None
    record.outputs = {"out": [FileRef("a.png", "", "output")]} if status == SUCCEEDED else None
    record.idempotency_scope = scope
    return record


@pytest.fixture(params=["memory", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    opened: list[SqliteJobStore] = []

    def build(max_jobs: int = 10, ttl: float = 1000, result_ttl: float = 1000, **kwargs: object) -> JobStore:
        if request.param == "memory":
            return MemoryJobStore(max_jobs, ttl, result_ttl, **kwargs)  # type: ignore[arg-type]
        store = SqliteJobStore.open(tmp_path / "jobs.sqlite3", max_jobs, ttl, result_ttl, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield build
    for store in opened:
        store.close()


def test_lookups_and_filters_newest_first(make: Make) -> None:
    async def check() -> None:
        store = make()
        for record in (job(1), job(2, "other"), job(3, status=CANCELLED), job(4, status=QUEUED, scope="k")):
            await store.put(record)
        assert [j.id for j in await store.select(JobQuery())] == ["j4", "j3", "j2", "j1"]
        assert [j.id for j in await store.select(JobQuery(workflow="w", status=SUCCEEDED))] == ["j1"]
        assert [j.id for j in await store.select(JobQuery(limit=2))] == ["j4", "j3"]
        found = await store.find("k")
        assert found is not None and found.id == "j4"
        await store.remove("j4")
        assert await store.find("k") is None and await store.get("j4") is None

    asyncio.run(check())


def test_a_put_again_keeps_the_place_of_the_first(make: Make) -> None:
    async def check() -> None:
        store = make()
        first = job(1, status=QUEUED)
        await store.put(first)
        await store.put(job(2))
        first.status, first.finished_at = SUCCEEDED, 100.0
        await store.put(first)
        assert [(j.id, j.status) for j in await store.select(JobQuery())] == [("j2", SUCCEEDED), ("j1", SUCCEEDED)]

    asyncio.run(check())


def test_outputs_expire_before_the_record_and_records_expire_by_age(make: Make) -> None:
    async def check() -> None:
        expired: list[str] = []
        store = make(ttl=100, result_ttl=10, on_result_expired=lambda j: expired.append(j.id))
        await store.put(job(1, finished=100.0, scope="s"))
        assert await store.prune(105.0) == []
        kept = await store.get("j1")
        assert kept is not None and kept.outputs is not None
        assert await store.prune(111.0) == []
        kept = await store.get("j1")
        assert kept is not None and kept.outputs is None and kept.result_expired
        assert expired == ["j1"]
        assert await store.prune(201.0) == ["j1"]
        assert await store.get("j1") is None and await store.find("s") is None
        assert expired == ["j1"]  # its files went once

    asyncio.run(check())


def test_over_the_size_bound_the_oldest_finished_go_and_unfinished_stay(make: Make) -> None:
    async def check() -> None:
        expired: list[str] = []
        store = make(max_jobs=2, on_result_expired=lambda j: expired.append(j.id))
        await store.put(job(1, status=QUEUED))
        for n in (2, 3, 4):
            await store.put(job(n))
        assert await store.prune(100.0) == ["j2", "j3"]
        assert [j.id for j in await store.select(JobQuery())] == ["j4", "j1"]
        assert sorted(expired) == ["j2", "j3"]  # a dropped job's output files are deleted

    asyncio.run(check())


def test_pending_jobs_and_the_prompts_they_hold(make: Make) -> None:
    async def check() -> None:
        store = make()
        queued = job(1, status=QUEUED)
        queued.plan = Plan({"1": {"class_type": "LoadImage", "inputs": {"image": "connect/connect-a.png"}}}, {"out": ("1",)}, {}, {})
        owed = job(2)
        owed.webhook = WebhookState("http://hook", attempts=1)  # ended; its webhook not delivered yet
        done = job(3)
        done.webhook = WebhookState("http://hook", state="delivered")
        for record in (queued, owed, done, job(4, status=RUNNING)):
            await store.put(record)
        assert [j.id for j in await store.pending()] == ["j1", "j2", "j4"]
        assert await asyncio.to_thread(store.held_prompts) == [queued.plan.prompt]

    asyncio.run(check())


def test_the_sqlite_store_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    async def check() -> None:
        path = tmp_path / "jobs.sqlite3"
        first = SqliteJobStore.open(path, 10, 1000, 1000)
        record = job(1, scope="key")
        record.webhook = WebhookState("http://hook", state="delivered", attempts=2, last_status=204)
        record.error = {"type": "x", "message": "m", "details": None}
        await first.put(record)
        await first.put(job(2, status=QUEUED))
        # No close(): a kill -9 closes nothing.
        second = SqliteJobStore.open(path, 10, 1000, 1000)
        again = await second.get("j1")
        assert again == record
        found = await second.find("key")
        assert found is not None and found.id == "j1"
        assert [j.id for j in await second.pending()] == ["j2"]
        second.close()

    asyncio.run(check())


def test_an_unreadable_database_is_moved_aside_and_the_store_starts_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def check() -> None:
        path = tmp_path / "jobs.sqlite3"
        path.write_bytes(b"this is not a database, it is what a failing disk left" * 100)
        store = SqliteJobStore.open(path, 10, 1000, 1000)
        assert await store.select(JobQuery()) == []
        await store.put(job(1))
        assert (await store.get("j1")) is not None
        store.close()

    asyncio.run(check())
    aside = [p for p in tmp_path.iterdir() if ".unreadable-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "job store" in caplog.text and "unreadable" in caplog.text


def test_a_failing_database_is_one_clear_error(tmp_path: Path) -> None:
    async def check() -> None:
        store = SqliteJobStore.open(tmp_path / "jobs.sqlite3", 10, 1000, 1000)
        await asyncio.get_running_loop().run_in_executor(store._thread, store._db.close)  # as a file gone bad under it
        with pytest.raises(Unavailable, match=r"the job store .* failed"):
            await store.put(job(1))

    asyncio.run(check())
