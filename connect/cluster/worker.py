"""The worker side of the cluster: take a job from Redis, run it on this ComfyUI, commit its end.

    worker = ClusterWorker(jobs, lease, load, ...)
    task = loop.create_task(worker.run_forever())

One job at a time per ComfyUI: the worker asks Redis for the next one (a reclaimed one first: XAUTOCLAIM
of an entry whose lease lapsed, else XREADGROUP, blocking) only once its job has ended, so an idle worker
takes work and a busy one hoards none. While it runs, the lease thread (lease.py) renews the hold and a
task polls the job's ``cancel`` field, so a DELETE on any instance reaches it within half a second.
The end is committed with fencing (jobdb.py COMMIT): a worker that lost its lease (paused past it, cut
off) has its result discarded and logged, and sends no webhook; only the committer sends one.
Before taking a job the worker judges its plan (fitness.py): one naming a node class or file this box
lacks is handed back for another worker (jobscripts.py REFUSE), and fails only once every live worker refused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConnectError, DeadLettered, EndpointNotReady, RunInterrupted
from ..io.outputs import collect
from ..run.jobcodec import decode, encode
from ..run.jobs import CANCELLED, FAILED, RUNNING, SUCCEEDED, JobRecord, Plan
from ..run.ready import ReadinessChecks
from ..workflow.endpoint import Endpoint
from ..workflow.store import SavedWorkflow
from .fitness import KEPT_MISSING, judged, live_workers
from .inputs import input_names, place_inputs
from .jobdb import FINAL, Taken
from .jobs import ClusterJobs
from .lease import Lease
from .outputs import gather
from .view import Unreachable, stop_if_cancelled

log = logging.getLogger("comfyui-connect")
_RETRY = 1.0
_BLOCK_MS = 2000
_CANCEL_POLL = 0.5
_HANDED_BACK = 0.5  # a worker that handed a job back waits so long before reading again: another takes it first


class ClusterWorker:
    def __init__(
        self,
        jobs: ClusterJobs,
        lease: Lease,
        load: Callable[[str], SavedWorkflow],
        directory_of: Callable[[str], Path | None],
        discard: Callable[[JobRecord], None],
        *,
        lease_seconds: float,
        attempts: int,
        output_cap: int,
        checks: ReadinessChecks | None = None,
    ) -> None:
        self.jobs = jobs
        self.db = jobs.db
        self.hub = jobs.cluster_hub
        self.me = jobs.me
        self.lease = lease
        self._load = load
        self._directory_of = directory_of
        self._discard = discard
        self._lease_ms = int(lease_seconds * 1000)
        self._attempts = attempts
        self._cap = output_cap
        self._checks = checks  # judges each job's plan before taking it (None: takes every job)
        self.current: JobRecord | None = None  # the job this worker runs (the heartbeat shows it)
        self._lost: set[str] = set()
        self.hub.on_start(self._started)

    async def run_forever(self) -> None:
        while True:
            stop_if_cancelled()
            if not self.jobs.comfy.worker_alive():  # a stalled ComfyUI takes nothing: other workers can run it
                await asyncio.sleep(_RETRY)
                continue
            try:
                got = await self.db.next_entry(self.me, self._lease_ms, _BLOCK_MS)
                if got is not None:
                    await self._take(*got)
            except Unreachable:
                await asyncio.sleep(_RETRY)
            except Exception:
                log.exception("ComfyUI-Connect: the cluster worker failed on a job; going on")
                await asyncio.sleep(_RETRY)

    def lost(self, job_id: str, attempt: int) -> None:
        """From the lease thread: the job was reclaimed by another worker while this one held it."""
        job = self.current
        if job is not None and job.id == job_id and job.attempts == attempt:
            log.warning("ComfyUI-Connect: job %s (attempt %d) was taken over by another worker; stopping it here", job_id, attempt)
            self._lost.add(job_id)
            self._stop(job)

    async def _take(self, entry_id: str, job_id: str) -> None:
        if not await self._fits(entry_id, job_id):
            return
        taken = await self.db.take(job_id, entry_id, self.me, self._attempts)
        if taken.verdict not in ("run", "dead"):
            return
        job = self._job(taken)
        self.lease.hold(job.id, entry_id, taken.attempt)
        self.current = job
        stats = self.jobs.stats
        if stats is not None:
            if taken.attempt > 1 or taken.verdict == "dead":  # an earlier attempt lapsed: its worker stopped holding it
                stats.reclaimed(job.workflow)
            stats.accepted(job, again=True)  # its arrival was counted where it was accepted (stats.py)
        try:
            if taken.verdict == "dead":
                history = [*taken.history]
                message = (
                    f"the job was taken {taken.attempt} times (CONNECT_CLUSTER_ATTEMPTS) and never finished: each worker stopped holding it"
                )
                if await self._commit(job, entry_id, DeadLettered(message, {"history": history, "attempts": taken.attempt})):
                    with contextlib.suppress(Unreachable):
                        await self.db.dead_lettered(job.id)
            elif taken.cancel:
                job.cancel_reason = taken.cancel
                await self._commit(job, entry_id, self.jobs.failure(job, RunInterrupted("stopped", {"prompt_id": job.prompt_id})))
            else:
                await self._run(job, entry_id)
        finally:
            self.lease.drop()
            self.current = None
            self._lost.discard(job.id)
            if stats is not None:  # not committed here (lost, or Redis away): another worker ends it
                stats.released(job)

    async def _fits(self, entry_id: str, job_id: str) -> bool:
        """Whether this box has what the job's plan names; if not, the job is handed back (never failed here),
        unless every live worker has refused it: then it fails with endpoint_not_ready."""
        if self._checks is None:
            return True
        stored = await self.db.load(job_id)
        if stored is None or stored.status in FINAL:
            return True  # TAKE acks it
        job = decode(stored.rec)
        if job.plan is None:
            return True
        prompt = job.plan.prompt
        # Judged every time it comes by (not only the first): a model file copied in since counts.
        verdict = await asyncio.to_thread(judged, self._checks, prompt, input_names(prompt))
        if verdict.ready:
            return True
        live = sorted({self.me, *(str(m.get("id")) for m in live_workers(await self.db.link.members()))})
        refused = await self.db.refuse(job_id, entry_id, self.me, live, [m.body() for m in verdict.missing[:KEPT_MISSING]])
        if refused.verdict == "fail":
            failed = decode(refused.rec)
            failed.attempts = refused.attempt
            log.warning("ComfyUI-Connect: no live worker can run job %s (%s): it fails", job_id, failed.workflow)
            await self._commit(failed, entry_id, no_worker(failed.workflow, refused.refusals))
        elif refused.verdict == "handed":
            log.info("ComfyUI-Connect: job %s handed back: this box cannot run it (%s)", job_id, verdict.summary())
            await asyncio.sleep(_HANDED_BACK)
        return False

    def _job(self, taken: Taken) -> JobRecord:
        job = decode(taken.rec)
        job.attempts = taken.attempt
        # A reclaimed record still carries the lost attempt's start: this attempt has not started yet, so
        # its own start is saved (running, this instance, this attempt) and its timeout counts from it.
        job.started_at = None
        return job

    async def _run(self, job: JobRecord, entry_id: str) -> None:
        plan = job.plan
        assert plan is not None
        endpoint = await self._endpoint(job, plan)
        by_node: dict[str, tuple[str, ...]] = {}
        for name, ids in plan.outputs.items():
            for node_id in ids:
                by_node[node_id] = (*by_node.get(node_id, ()), name)
        self.hub.running[job.id] = job.attempts
        self.hub.open(job.id, job.prompt_id, plan.labels, by_node)
        watcher = asyncio.ensure_future(self._watch_cancel(job))
        try:
            await self._execute(job, endpoint, entry_id)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self.hub.running.pop(job.id, None)
            self.hub.drop(job.id)

    async def _endpoint(self, job: JobRecord, plan: Plan) -> Endpoint:
        """What names the job's errors in the caller's terms: its workflow as stored here when it is the very
        version the job was prepared from, else one made of the plan (errors then name nodes, not inputs).
        The job never needs its workflow to run: the plan is the prompt (a save or delete meanwhile, or a
        sync still on its way, changes nothing)."""

        def read() -> tuple[SavedWorkflow | None, str | None]:
            try:
                return self._load(job.workflow), self.jobs.digest(job.workflow)
            except ConnectError:
                return None, None

        saved, stored = await asyncio.to_thread(read)
        if saved is not None and (job.workflow_hash is None or stored == job.workflow_hash):
            return saved.endpoint
        return Endpoint(plan.prompt, {}, plan.outputs, (), ())

    async def _execute(self, job: JobRecord, endpoint: Endpoint, entry_id: str) -> None:
        plan = job.plan
        assert plan is not None
        executor = self.jobs.executor
        try:
            if input_names(plan.prompt):  # files the caller sent to another instance
                await place_inputs(self.jobs.input_dir, await self.db.inputs(job.id))
            await executor.submit(endpoint, plan.prompt, job.prompt_id, plan.extra)
        except ConnectError as exc:
            await self._commit(job, entry_id, exc)
            return

        def expired() -> bool:
            if job.started_at is None and self.jobs.comfy.prompt_state(job.prompt_id) == "running":
                self._started(job.id, time.time())
            return job.started_at is not None and time.time() - job.started_at > job.timeout

        try:
            try:
                outcome = await executor.wait(job.prompt_id, expired)
            except asyncio.TimeoutError:
                job.cancel_reason = job.cancel_reason or "timeout"
                self._stop(job)
                outcome = await self.jobs.stopped(job)
            result = executor.result(endpoint, plan.prompt, outcome)
        except ConnectError as exc:
            await self._commit(job, entry_id, self.jobs.failure(job, exc))
        except asyncio.CancelledError:
            self.jobs.comfy.cancel(job.prompt_id)
            raise
        else:
            job.result, job.output_nodes = result, plan.outputs
            job.outputs = collect(plan.outputs, result.outputs)
            await self._commit(job, entry_id, None)
        finally:
            executor.forget(job.prompt_id)

    def _stop(self, job: JobRecord) -> None:
        if self.jobs.comfy.cancel(job.prompt_id) == "removed":
            self.jobs.executor.abandon(job.prompt_id, RunInterrupted("removed from the queue", {"prompt_id": job.prompt_id}))

    async def _watch_cancel(self, job: JobRecord) -> None:
        while True:
            # Its Redis read can swallow the cancel that ends it (view.py stop_if_cancelled: likely just after a
            # pause, when every read times out at once); _run waits for it, so a watcher that went on forever
            # held the take loop on a finished job and this worker took nothing more.
            stop_if_cancelled()
            await asyncio.sleep(_CANCEL_POLL)
            with contextlib.suppress(Unreachable):
                reason = await self.db.cancel_reason(job.id)
                if reason is not None and job.cancel_reason is None:
                    job.cancel_reason = reason
                    self._stop(job)

    def _started(self, job_id: str, started: float) -> None:
        job = self.current
        if job is None or job.id != job_id or job.started_at is not None:
            return
        job.status, job.started_at, job.instance = RUNNING, started or time.time(), self.me
        self.jobs.spawn(self._save(job))

    async def _save(self, job: JobRecord) -> None:
        with contextlib.suppress(Unreachable):
            await self.db.update(job.id, self.me, job.attempts, encode(job), job.status)

    async def _commit(self, job: JobRecord, entry_id: str, error: ConnectError | None) -> bool:
        """Store the end if this worker still holds the job (True); else discard it (logged)."""
        files: dict[str, bytes] = {}
        if error is None and job.outputs is not None:
            try:
                files = await asyncio.to_thread(gather, self._directory_of, job.outputs, self._cap)
            except ConnectError as exc:
                error = exc
        job.finished_at, job.plan, job.instance = time.time(), None, self.me
        if error is None:
            job.status = SUCCEEDED
        else:
            job.status = CANCELLED if isinstance(error, RunInterrupted) else FAILED
            job.error, job.error_status = error.body()["error"], error.status
            job.outputs = None
        if job.id in self._lost:
            log.warning(
                "ComfyUI-Connect: the late result of job %s (attempt %d) was discarded: another worker holds it", job.id, job.attempts
            )
            self._cleanup(job)
            return False
        await self.hub.flush()
        if files:
            await self.db.put_files(job.id, job.attempts, files, self.jobs.result_ttl)
        final = json.dumps({**self.jobs.summary(job), "outputs": None}, separators=(",", ":"), default=str)
        committed = await self.db.commit(job.id, self.me, job.attempts, encode(job), job.status, final, entry_id, self.jobs.ttl)
        if committed:
            with contextlib.suppress(Unreachable):  # if kept, they expire with the job
                await self.db.drop_inputs(job.id)
        if not committed:
            log.warning(
                "ComfyUI-Connect: the late result of job %s (attempt %d) was discarded: another worker holds it", job.id, job.attempts
            )
            self._cleanup(job)
            return False
        if self.jobs.stats is not None:
            self.jobs.stats.finished(job)
        if job.webhook is not None:
            self.jobs.spawn(self._notify_then_clean(job))
        else:
            self._cleanup(job)
        return True

    async def _notify_then_clean(self, job: JobRecord) -> None:
        try:
            await self.jobs.notify(job)
        finally:
            self._cleanup(job)

    def _cleanup(self, job: JobRecord) -> None:
        """This worker's copies of the files go: Redis holds them for every instance now."""
        if job.result is not None and job.output_nodes is not None:
            try:
                self._discard(job)
            except OSError as exc:
                log.warning("ComfyUI-Connect: could not remove the output files of job %s: %s", job.id, exc)

    def heartbeat(self) -> dict[str, Any] | None:
        job = self.current
        if job is None:
            return None
        return {"id": job.id, "workflow": job.workflow, "attempt": job.attempts, "progress": self.hub.progress(job.id)}


def no_worker(workflow: str, refusals: tuple[dict[str, Any], ...]) -> EndpointNotReady:
    """The end of a job every live worker refused: what each one lacks (at most a few items each)."""
    missing: list[dict[str, Any]] = []
    for refusal in refusals:
        lacking = refusal.get("missing")
        for item in lacking if isinstance(lacking, list) else []:
            if item not in missing:
                missing.append(item)
    workers = sorted(str(r.get("instance")) for r in refusals)
    return EndpointNotReady(
        f"no live worker of the cluster can run workflow {workflow!r} ({', '.join(workers)} refused it): they lack what it names",
        {"name": workflow, "missing": missing, "workers": workers},
    )
