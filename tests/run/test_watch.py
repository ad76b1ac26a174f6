"""run/watch.py: the job store's writes tell the watch of each job accepted, withdrawn and ended, once."""

from __future__ import annotations

import asyncio

from connect.run.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, JobRecord, MemoryJobStore
from connect.run.watch import WatchedJobs


class Seen:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def accepted(self, job: JobRecord, *, again: bool = False) -> None:
        self.events.append(("again" if again else "accepted", job.id))

    def withdrawn(self, job: JobRecord) -> None:
        self.events.append(("withdrawn", job.id))

    def finished(self, job: JobRecord) -> None:
        self.events.append((f"finished {job.status}", job.id))


def record(job_id: str) -> JobRecord:
    return JobRecord(id=job_id, workflow="w", prompt_id="p" + job_id, owner=None, timeout=60)


def test_each_job_is_accepted_and_finished_once_whatever_the_writes() -> None:
    async def scenario() -> None:
        seen = Seen()
        store = WatchedJobs(MemoryJobStore(100, 3600, 3600), seen)
        job = record("a")
        await store.put(job)
        job.status = RUNNING
        await store.put(job)  # started: no event
        job.status = SUCCEEDED
        await store.put(job)
        await store.put(job)  # a webhook's update after the end: no second finish
        refused = record("b")
        await store.put(refused)
        await store.remove("b")  # ComfyUI refused its prompt
        await store.remove("a")  # an ended job forgotten: nothing more
        assert seen.events == [("accepted", "a"), ("finished succeeded", "a"), ("accepted", "b"), ("withdrawn", "b")]
        assert await store.get("a") is None

    asyncio.run(scenario())


def test_jobs_found_after_a_restart_are_followed_again_not_counted_as_new() -> None:
    async def scenario() -> None:
        inner = MemoryJobStore(100, 3600, 3600)
        waiting, ended = record("w"), record("e")
        ended.status = FAILED
        for job in (waiting, ended):
            await inner.put(job)
        seen = Seen()
        store = WatchedJobs(inner, seen)
        assert {j.id for j in await store.pending()} == {"w"}
        assert waiting.status == QUEUED
        waiting.status = SUCCEEDED
        await store.put(waiting)
        assert seen.events == [("again", "w"), ("finished succeeded", "w")]

    asyncio.run(scenario())
