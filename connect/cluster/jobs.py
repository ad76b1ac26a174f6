"""The job runner of an instance in a cluster: runs are queued in Redis, and any instance reads any job.

    job, replayed = await jobs.start(request)   # prepared here, queued on connect:jobs (jobdb.py)
    job = await jobs.wait(job.id, 100)          # follows its events stream until the final one
    await jobs.cancel(job, "cancelled")         # ended at once if queued; else its worker is told

The same interface as run/runner.py's JobRunner (whose HTTP side, http/jobs.py, is unchanged): the
record, its events and its output files live in Redis, so GET, the SSE stream, DELETE and the list work
on every instance. Workers (worker.py) take the jobs and commit their end with fencing. The job carries
its prepared prompt (the Plan), so a save of its workflow during the run changes nothing. When Redis does
not answer, runs and job reads are refused with 503 ``cluster_unavailable`` and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..comfy.outcome import Outcome
from ..errors import ClusterUnavailable, ConnectError, IdempotencyMismatch, RunInterrupted, TooManyRequests, Unavailable
from ..io.delivery import Choice, Mode
from ..io.embed import embedding
from ..io.outputs import FileRef, Item
from ..run.jobcodec import decode, encode
from ..run.jobs import CANCELLED, FINISHED, SUCCEEDED, JobQuery, JobRecord, Plan, WebhookState
from ..run.runner import REASONS, JobRunner, RunRequest
from ..workflow.endpoint import title_of
from ..workflow.store import SavedWorkflow
from .events import ClusterEvents
from .fitness import refusal
from .inputs import gather_inputs
from .jobdb import FINAL, JobDb, Stored
from .outputs import moved, place, relocate, sweep
from .stats import RunStats
from .view import Unreachable, stop_if_cancelled

log = logging.getLogger("comfyui-connect")
RETRY_AFTER = 2  # seconds a caller is told to wait while Redis does not answer
_SCOPE_WAIT = 10.0  # seconds a replayed Idempotency-Key waits for the first call's record to appear
_BLOCK_MS = 1000
_SWEEP_EVERY = 60.0
_PROGRESS_KEPT = 10_000
_MEMBERS_REUSED = 1.0  # seconds a run reuses the workers' heartbeats it read (about one heartbeat)


def unavailable(exc: Unreachable) -> ClusterUnavailable:
    return ClusterUnavailable(
        f"the cluster's Redis does not answer ({exc}), so jobs can be neither queued nor read; try again shortly",
        {"retry_after": RETRY_AFTER},
        {"Retry-After": str(RETRY_AFTER)},
    )


def over_limit(said: str, count: int, limits: tuple[int, int]) -> ConnectError:
    """The limits, counted cluster-wide (jobdb.py ENQUEUE), answered as on one machine (run/limits.py)."""
    if said == "client":
        return TooManyRequests(
            f"this client already has {count} runs in flight in the cluster, the most allowed (CONNECT_MAX_QUEUE_PER_CLIENT)",
            {"in_flight": count, "limit": limits[0], "retry_after": RETRY_AFTER},
            {"Retry-After": str(RETRY_AFTER)},
        )
    return Unavailable(
        f"the cluster holds {count} jobs not ended, the most allowed (CONNECT_MAX_QUEUE); try again later",
        {"queue_depth": count, "limit": limits[1], "retry_after": RETRY_AFTER},
        {"Retry-After": str(RETRY_AFTER)},
    )


class ClusterJobs(JobRunner):
    db: JobDb
    me: str
    temp: Callable[[], Path | None]
    ttl: float
    result_ttl: float
    cluster_hub: ClusterEvents
    limits: tuple[int, int]
    input_dir: Path
    digest: Callable[[str], str | None]  # sha256 of a workflow's stored file (the version a job runs)
    stats: RunStats | None = None  # this instance's statistics (stats.py says who counts what in a cluster)

    def configure(
        self, db: JobDb, me: str, temp: Callable[[], Path | None], ttl: float, result_ttl: float, limits: tuple[int, int]
    ) -> None:
        """What JobRunner's constructor does not take (plugin.py builds both alike); `limits`: (per client, overall)."""
        self.db, self.me, self.temp, self.ttl, self.result_ttl, self.limits = db, me, temp, ttl, result_ttl, limits
        self.digest = lambda name: None
        self._swept = 0.0
        self._members: tuple[float, list[dict[str, Any]]] = (0.0, [])
        assert isinstance(self.hub, ClusterEvents)
        self.cluster_hub = self.hub

    # -- starting --------------------------------------------------------------------------------------
    async def start(self, request: RunRequest) -> tuple[JobRecord, bool]:
        try:
            return await self._start(request)
        except Unreachable as exc:
            raise unavailable(exc) from None

    async def _start(self, request: RunRequest) -> tuple[JobRecord, bool]:
        scope = request.scope()
        job_id = uuid.uuid4().hex
        if scope is None:
            return await self._enqueue(request, job_id, None), False
        deadline = time.monotonic() + _SCOPE_WAIT
        while (held := await self.db.claim_scope(scope, job_id, self.ttl)) is not None:
            earlier = await self.get(held)  # the same key on another instance at once: one job
            if earlier is not None:
                if earlier.fingerprint != request.fingerprint():
                    raise IdempotencyMismatch(
                        "this Idempotency-Key was used for another request (a different body, timeout or webhook); use a new key",
                        {"idempotency_key": request.idempotency_key, "job_id": earlier.id},
                    )
                return earlier, True
            if time.monotonic() > deadline:  # its first call never queued it (and did not let go): take it over
                await self.db.release_scope(scope, held)
            await asyncio.sleep(0.05)
        try:
            return await self._enqueue(request, job_id, scope), False
        except BaseException:
            await asyncio.shield(self.db.release_scope(scope, job_id))
            raise

    async def _enqueue(self, request: RunRequest, job_id: str, scope: str | None) -> JobRecord:
        saved: SavedWorkflow = request.saved
        prompt, outputs = await self._prepare(saved, request.payload, request.parts)
        labels = {n: (title_of(node) or None, str(node.get("class_type"))) for n, node in prompt.items() if n in saved.endpoint.prompt}
        embed = embedding(saved.metadata or self.metadata, prompt, saved.endpoint.prompt, saved.workflow)
        job = JobRecord(
            id=job_id,
            workflow=saved.name,
            prompt_id=self.comfy.new_prompt_id(),
            owner=request.owner,
            timeout=request.timeout,
            webhook=WebhookState(request.webhook) if request.webhook else None,
            idempotency_scope=scope,
            fingerprint=request.fingerprint() if scope is not None else None,
            delivery=request.delivery or Choice(Mode.BASE64),
            plan=Plan(prompt, outputs, labels, embed),
            workflow_hash=await asyncio.to_thread(self.digest, saved.name),
        )
        refused = refusal(saved.name, job.workflow_hash, prompt, await self._live_members())
        if refused is not None:  # no live worker has what it names: 409 now, as one machine says (nothing queued)
            raise refused
        files = await gather_inputs(self.input_dir, prompt)  # the worker's ComfyUI needs them in its own folder
        if files:
            await self.db.put_inputs(job.id, files, self.ttl)
        client = request.slot.client if request.slot is not None else (request.owner or "")
        queued = json.dumps({"position": None})
        said, count = await self.db.enqueue(job.id, encode(job), job.created_at, queued, client, self.limits, job.workflow)
        if said != "ok":
            raise over_limit(said, count, self.limits)
        if self.stats is not None:
            self.stats.arrived(job.workflow)
        # The local slot (http/middleware/admission.py) is not detached: it ends with this call. The job
        # counts against the limits until it ends in Redis's own count (jobdb.py ENQUEUE, COMMIT, CANCEL).
        return job

    async def _live_members(self) -> list[dict[str, Any]]:
        """The cluster's heartbeats (each worker's readiness report in them), read at most once a second."""
        read_at, members = self._members
        if time.monotonic() - read_at > _MEMBERS_REUSED:
            members = await self.db.link.members()
            self._members = (time.monotonic(), members)
        return members

    async def recover(self, load: Callable[[str], SavedWorkflow]) -> int:
        return 0  # Redis holds the jobs; a worker's unfinished one is reclaimed when its lease lapses

    # -- reading -----------------------------------------------------------------------------------------
    async def get(self, job_id: str) -> JobRecord | None:
        return await self._read(job_id, forgotten_too=False)

    async def _read(self, job_id: str, *, forgotten_too: bool) -> JobRecord | None:
        """A deleted job that has ended is forgotten, as on one machine (run/runner.py delete): COMMIT keeps
        its record a minute only so that a caller already waiting on it (``wait``) still gets its end."""
        try:
            stored = await self.db.load(job_id)
            if stored is None or (stored.deleted and stored.status in FINISHED and not forgotten_too):
                return None
            return await self._view(job_id, stored)
        except Unreachable as exc:
            raise unavailable(exc) from None

    async def _view(self, job_id: str, stored: Stored) -> JobRecord:
        job = decode(stored.rec)
        job.deleted = job.deleted or stored.deleted
        if not job.finished:
            job.cancel_reason = job.cancel_reason or stored.cancel
        if stored.progress is not None:
            if len(self.cluster_hub.remote_progress) > _PROGRESS_KEPT:  # jobs read while running, never after
                self.cluster_hub.remote_progress.clear()
            self.cluster_hub.remote_progress[job_id] = stored.progress
        else:
            self.cluster_hub.remote_progress.pop(job_id, None)
        if stored.expired:
            job.outputs, job.result_expired = None, True
        if job.status == SUCCEEDED and job.outputs is not None and job.result is not None:
            await self._localize(job)
        return job

    async def _localize(self, job: JobRecord) -> None:
        """Point the job's result at copies of its files here (fetched from Redis once per job)."""
        assert job.result is not None and job.outputs is not None
        temp = self.temp()
        if temp is None:
            return
        attempt = job.attempts
        files = await self.db.files(job.id, attempt) if any(_files(job.outputs)) else {}
        if any(_files(job.outputs)) and not files:  # past CONNECT_JOB_RESULTS_TTL: Redis dropped them
            job.outputs, job.result_expired = None, True
            return
        await place(temp, job.id, attempt, files)
        if time.monotonic() - self._swept > _SWEEP_EVERY:  # copies of older jobs go once Redis no longer has them
            self._swept = time.monotonic()
            await asyncio.to_thread(sweep, temp, self.result_ttl)
        job.result = relocate(job.result, job.id, attempt)
        job.outputs = {
            name: [FileRef(i.filename, moved(job.id, attempt, i.kind, i.subfolder), "temp") if isinstance(i, FileRef) else i for i in items]
            for name, items in job.outputs.items()
        }

    async def select(self, query: JobQuery) -> list[JobRecord]:
        try:
            ids = await self.db.newest(max(query.limit * 4, 200))
            found: list[JobRecord] = []
            gone = []
            for job_id, stored in zip(ids, await self.db.load_many(ids), strict=True):
                if stored is None or (stored.deleted and stored.status in FINISHED):
                    gone.append(job_id)
                    continue
                job = decode(stored.rec)
                if (query.workflow and job.workflow != query.workflow) or (query.status and job.status != query.status):
                    continue
                if query.owner is not None and job.owner != query.owner:
                    continue
                found.append(replace(job, outputs=None, result=None, plan=None))
                if len(found) >= query.limit:
                    break
            await self.db.forget_index(gone)
            return found
        except Unreachable as exc:
            raise unavailable(exc) from None

    async def wait(self, job_id: str, seconds: float) -> JobRecord | None:
        try:
            await self._final(job_id, seconds)
        except Unreachable as exc:
            raise unavailable(exc) from None
        return await self._read(job_id, forgotten_too=True)

    async def _final(self, job_id: str, seconds: float) -> bool:
        """Whether the job ended within `seconds` (its events stream says so). A Redis outage meanwhile
        (a restart) is waited out until the time is up; then the caller's own read says 503."""
        deadline = time.monotonic() + seconds
        last = "0-0"
        block: int | None = None
        while True:
            stop_if_cancelled()
            try:
                found = await self.db.events(job_id, last, block)
            except Unreachable:
                if time.monotonic() > deadline:
                    raise
                found = []
                await asyncio.sleep(0.2)
            for entry_id, _, name, _ in found:
                last = entry_id
                if name in FINAL:
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            block = max(1, min(_BLOCK_MS, int(left * 1000)))

    async def delivered(self, job: JobRecord) -> None:
        job.outputs, job.result_expired = None, True
        with contextlib.suppress(Unreachable):  # if lost, the files simply stay until their TTL
            await self.db.mark(job.id, "expired")

    # -- cancelling --------------------------------------------------------------------------------------
    async def cancel(self, job: JobRecord, reason: str) -> None:
        if job.finished:
            return
        ended = replace(job, status=CANCELLED, finished_at=time.time(), cancel_reason=reason, plan=None)
        error = RunInterrupted(
            REASONS.get(reason, reason).replace("{id}", job.id), {"prompt_id": job.prompt_id, "node_id": None, "reason": reason}
        )
        ended.error, ended.error_status = error.body()["error"], error.status
        try:
            said = await self.db.cancel(job.id, reason, encode(ended), json.dumps(self.summary(ended)), self.ttl)
        except Unreachable as exc:
            raise unavailable(exc) from None
        job.cancel_reason = job.cancel_reason or reason
        if said == "cancelled":
            job.status, job.finished_at, job.error, job.error_status = CANCELLED, ended.finished_at, ended.error, ended.error_status
            if self.stats is not None:  # no worker took it: it ends here, and is counted here
                self.stats.finished(ended)

    async def delete(self, job: JobRecord) -> None:
        job.deleted = True
        try:
            await self.db.mark(job.id, "deleted")
        except Unreachable as exc:
            raise unavailable(exc) from None
        await self.cancel(job, "cancelled")
        if job.finished:
            await self.db.remove(job.id, job.attempts)

    async def _persist(self, job: JobRecord) -> None:
        """Only the worker that committed a job writes it after the end (its webhook's delivery state)."""
        if job.instance == self.me and job.status in FINISHED:
            with contextlib.suppress(Unreachable):
                await self.db.update(job.id, self.me, job.attempts, encode(job), job.status, after=True)

    async def _prune(self) -> None:
        return None  # Redis expires finished jobs itself (jobdb.py)

    # -- for the worker (worker.py), which drives jobs as JobRunner does -------------------------------
    def failure(self, job: JobRecord, exc: ConnectError) -> ConnectError:
        return self._failure(job, exc)

    async def stopped(self, job: JobRecord) -> Outcome:
        return await self._stopped(job)

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        self._spawn(coroutine)

    async def notify(self, job: JobRecord) -> None:
        await self._notify(job)

    def summary(self, job: JobRecord) -> dict[str, Any]:
        return {**super().summary(job), "instance": job.instance, "attempts": job.attempts}


def _files(outputs: dict[str, list[Item]]) -> list[FileRef]:
    return [item for items in outputs.values() for item in items if isinstance(item, FileRef)]
