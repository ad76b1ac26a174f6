"""Who else hears of each job's life: statistics (cluster/stats.py) count runs from these calls.

    watch.accepted(job)    the job was accepted (stored before it goes on ComfyUI's queue)
    watch.withdrawn(job)   it was removed before it ended (ComfyUI refused its prompt)
    watch.finished(job)    it ended (succeeded, failed or cancelled); the record says how and when

``WatchedJobs`` tells them by standing in front of the job store: the runner writes every change of a
job there (accepted, started, ended), whichever runner and store are in use, so the runner itself needs
no hook. A job found unfinished after a restart (``pending``) is followed again, not counted twice.
All calls run on the event loop and must return at once.
"""

from __future__ import annotations

from typing import Any, Protocol

from .jobs import JobQuery, JobRecord, JobStore


class JobWatch(Protocol):
    def accepted(self, job: JobRecord, *, again: bool = False) -> None:
        """`again`: a job accepted before a restart, followed again (not a new arrival)."""

    def withdrawn(self, job: JobRecord) -> None: ...

    def finished(self, job: JobRecord) -> None: ...


class WatchedJobs:
    """A ``JobStore`` that tells `watch` of each job it sees accepted and ended; the rest goes to `store`."""

    def __init__(self, store: JobStore, watch: JobWatch) -> None:
        self.store = store
        self._watch = watch
        self._open: dict[str, JobRecord] = {}  # accepted, not yet seen ended

    async def put(self, job: JobRecord) -> None:
        await self.store.put(job)
        if job.id not in self._open and not job.finished:
            self._open[job.id] = job
            self._watch.accepted(job)
        elif job.finished and self._open.pop(job.id, None) is not None:
            self._watch.finished(job)

    async def remove(self, job_id: str) -> None:
        await self.store.remove(job_id)
        job = self._open.pop(job_id, None)
        if job is not None:
            self._watch.withdrawn(job)

    async def pending(self) -> list[JobRecord]:
        jobs = await self.store.pending()
        for job in jobs:
            if not job.finished and job.id not in self._open:
                self._open[job.id] = job
                self._watch.accepted(job, again=True)
        return jobs

    async def get(self, job_id: str) -> JobRecord | None:
        return await self.store.get(job_id)

    async def find(self, idempotency_scope: str) -> JobRecord | None:
        return await self.store.find(idempotency_scope)

    async def select(self, query: JobQuery) -> list[JobRecord]:
        return await self.store.select(query)

    async def prune(self, now: float) -> list[str]:
        return await self.store.prune(now)

    def held_prompts(self) -> list[dict[str, Any]]:
        return self.store.held_prompts()
