"""Every run is a job: started here, followed to its end, cancelled, announced by webhook.

    job, replayed = await runner.start(request)   # validated and queued, or a ConnectError
    job = await runner.wait(job.id, 100)            # finished, or still going after 100 s
    job = await runner.cancel(job.id, "cancelled")  # stop it (and only it)

A synchronous call is a job whose caller waits for it (up to the sync wait budget); ``?async=1`` answers at once.
The job's execution timeout counts from the moment ComfyUI starts running it, not while it waits in the queue.
Jobs of this process are kept live in ``_active`` until they end; the store holds every record (see jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..comfy.engine import Engine
from ..comfy.outcome import Outcome
from ..errors import ConnectError, IdempotencyMismatch, RunInterrupted, RunTimeout, ServerRestarted
from ..io.delivery import Choice, Mode
from ..io.embed import embedding
from ..io.outputs import Item, collect
from ..io.render import encode_json
from ..workflow.endpoint import Endpoint, Prompt, title_of
from ..workflow.store import Metadata, SavedWorkflow
from .events import JobEvents, iso
from .executor import Executor
from .idempotency import IdempotencyLock
from .jobs import CANCELLED, FAILED, RUNNING, SUCCEEDED, JobQuery, JobRecord, JobStore, Plan, WebhookState
from .limits import Slot
from .webhooks import WebhookPolicy, deliver

log = logging.getLogger("comfyui-connect")

Prepare = Callable[[SavedWorkflow, Any, Any], Awaitable[tuple[Prompt, dict[str, tuple[str, ...]]]]]  # (prompt, output -> node ids)
Render = Callable[[JobRecord], Awaitable[Any]]  # a finished job's outputs as GET of the job shows them (None: gone)
# Once the interrupt is raised, ComfyUI stops within milliseconds at the next node or step. A node
# that never checks (a long model load) may take longer; the job ends anyway after this.
_STOP_GRACE = 30.0
_PRUNE_EVERY = 30.0
JOBS_PATH = "/api/connect/jobs"
_WEBHOOK_FIELDS = ("url", "state", "attempts", "last_status", "last_error")

REASONS = {
    "cancelled": "the job was cancelled (DELETE /api/connect/jobs/{id})",
    "client_disconnected": "the caller disconnected before the run finished, so the run was cancelled",
    "interrupted": "the run was interrupted in ComfyUI (its Cancel button, POST /interrupt or its jobs API), not through this API",
    "removed": "the prompt was taken off ComfyUI's queue before it ran (e.g. from ComfyUI's queue panel or its jobs API)",
}


@dataclass(frozen=True)
class RunRequest:
    saved: SavedWorkflow
    payload: Any
    timeout: float
    owner: str | None = None
    webhook: str | None = None
    idempotency_key: str | None = None
    delivery: Choice | None = None  # how the run call renders the outputs (delivery.py)
    slot: Slot | None = None
    parts: Any = None  # a multipart request's file parts (multipart.py), stored while the job is prepared

    def scope(self) -> str | None:
        if self.idempotency_key is None:
            return None
        return json.dumps([self.owner, self.saved.name, self.idempotency_key])

    def fingerprint(self) -> str:
        body = json.dumps(self.payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{body}\n{self.timeout!r}\n{self.webhook}".encode()).hexdigest()


class JobRunner:
    def __init__(
        self,
        comfy: Engine,
        executor: Executor,
        store: JobStore,
        hub: JobEvents,
        claims: IdempotencyLock,
        prepare: Prepare,
        render: Render,
        webhooks: WebhookPolicy,
        metadata: Metadata = "none",  # what outputs embed unless their workflow says (CONNECT_METADATA)
    ) -> None:
        self.metadata = metadata
        self.comfy = comfy
        self.executor = executor
        self.store = store
        self.hub = hub
        self.claims = claims
        self._prepare = prepare
        self._render = render
        self.webhooks = webhooks
        self._active: dict[str, JobRecord] = {}
        self._done: dict[str, asyncio.Event] = {}
        self._release: dict[str, Callable[[], None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pruned_at = 0.0
        hub.on_start(self._started)
        comfy.on_event(hub.comfy_event)

    # -- starting --------------------------------------------------------------------------------------
    async def start(self, request: RunRequest) -> tuple[JobRecord, bool]:
        """The new job, or with an Idempotency-Key seen before, that earlier job (and True)."""
        await self._prune()
        scope = request.scope()
        if scope is None:
            return await self._create(request, None), False
        async with self.claims.hold(scope):  # the same key started twice at once: the second waits, then replays
            earlier = await self.store.find(scope)
            if earlier is None:
                return await self._create(request, scope), False
        if earlier.fingerprint != request.fingerprint():
            raise IdempotencyMismatch(
                "this Idempotency-Key was used for another request (a different body, timeout or webhook); use a new key",
                {"idempotency_key": request.idempotency_key, "job_id": earlier.id},
            )
        return self._active.get(earlier.id, earlier), True

    async def _create(self, request: RunRequest, scope: str | None) -> JobRecord:
        saved = request.saved
        prompt, outputs = await self._prepare(saved, request.payload, request.parts)
        labels = {n: (title_of(node) or None, str(node.get("class_type"))) for n, node in prompt.items() if n in saved.endpoint.prompt}
        embed = embedding(saved.metadata or self.metadata, prompt, saved.endpoint.prompt, saved.workflow)
        job = JobRecord(
            id=uuid.uuid4().hex,
            workflow=saved.name,
            prompt_id=self.comfy.new_prompt_id(),
            owner=request.owner,
            timeout=request.timeout,
            webhook=WebhookState(request.webhook) if request.webhook else None,
            idempotency_scope=scope,
            fingerprint=request.fingerprint() if scope is not None else None,  # only a replay compares it
            delivery=request.delivery or Choice(Mode.BASE64),
            plan=Plan(prompt, outputs, labels, embed),
            version=saved.version,
        )
        # Stored before ComfyUI has it (a failing store refuses the run); one never queued is never left behind.
        try:
            await self.store.put(job)
            await self._queue(job, saved.endpoint)
        except BaseException:
            await asyncio.shield(self.store.remove(job.id))
            raise
        self.hub.queued(job.id)  # before any await: ComfyUI may start it at once
        if request.slot is not None:
            self._release[job.id] = request.slot.detach()
        self._spawn(self._drive(job, saved, prompt, outputs))
        return job

    async def _queue(self, job: JobRecord, endpoint: Endpoint) -> None:
        """Put the job's planned prompt on ComfyUI's queue and follow it; a ConnectError if ComfyUI refuses it."""
        assert job.plan is not None
        by_node: dict[str, tuple[str, ...]] = {}
        for name, ids in job.plan.outputs.items():
            for node_id in ids:
                by_node[node_id] = (*by_node.get(node_id, ()), name)
        # Registered before the prompt is queued: ComfyUI may start it (and report) at once.
        self.hub.open(job.id, job.prompt_id, job.plan.labels, by_node)
        try:
            await self.executor.submit(endpoint, job.plan.prompt, job.prompt_id, job.plan.extra)
        except BaseException:
            self.hub.drop(job.id)
            raise
        self._active[job.id] = job
        self._done[job.id] = asyncio.Event()

    # -- after a restart -------------------------------------------------------------------------------
    async def recover(self, load: Callable[[str], SavedWorkflow]) -> int:
        """Finish what was still going when ComfyUI stopped (once it has loaded every node pack); how many.

        Queued jobs go back on its queue in their order; the one that was running fails as
        ``server_restarted`` (README "Jobs" says why); an ended job's undelivered webhook goes again.
        """
        jobs = await self.store.pending()
        for job in jobs:
            try:
                await self._recover(job, load)
            except Exception:
                log.exception("ComfyUI-Connect: could not recover job %s after the restart", job.id)
        if jobs:
            log.info("ComfyUI-Connect: recovered %d jobs that were not finished when ComfyUI stopped", len(jobs))
        return len(jobs)

    async def _recover(self, job: JobRecord, load: Callable[[str], SavedWorkflow]) -> None:
        self._done[job.id] = asyncio.Event()
        if job.finished:
            self._done[job.id].set()
            if job.webhook is not None:
                self._spawn(self._notify(job))
            return
        self._active[job.id], plan = job, job.plan
        try:
            if job.cancel_reason is not None:  # a stop was asked for before the restart: it is not run
                raise self._failure(job, RunInterrupted("stopped", {"prompt_id": job.prompt_id, "node_id": None}))
            if job.status == RUNNING or plan is None:
                raise restarted(job)
            saved = await asyncio.to_thread(load, job.workflow)
            await self._queue(job, saved.endpoint)
        except ConnectError as exc:  # also: its workflow was deleted, or ComfyUI refuses the prompt now (a node pack gone)
            await self._finish(job, None, exc)
            return
        self.hub.queued(job.id)
        self._spawn(self._drive(job, saved, plan.prompt, plan.outputs))

    # -- following ---------------------------------------------------------------------------------------
    async def get(self, job_id: str) -> JobRecord | None:
        await self._prune()
        return self._active.get(job_id) or await self.store.get(job_id)

    async def select(self, query: JobQuery) -> list[JobRecord]:
        await self._prune()
        return [self._active.get(job.id, job) for job in await self.store.select(query)]

    async def wait(self, job_id: str, seconds: float) -> JobRecord | None:
        """The job once it has ended, or as it is after `seconds`."""
        done = self._done.get(job_id)
        if done is not None and seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), seconds)
        return await self.get(job_id)

    async def delivered(self, job: JobRecord) -> None:
        """The run call handed out the job's files: the record says so (not awaited: if lost, GET shows them gone anyway)."""
        job.outputs, job.result_expired = None, True
        self._spawn(self._persist(job))

    def position(self, job: JobRecord) -> int | None:
        return self.hub.position(job.id) if job.status == "queued" else None

    def progress(self, job: JobRecord) -> dict[str, Any] | None:
        return self.hub.progress(job.id) if job.status == RUNNING else None

    def _started(self, job_id: str, started: float) -> None:
        job = self._active.get(job_id)
        if job is not None and not job.finished:
            job.status, job.started_at = RUNNING, started or time.time()
            self._spawn(self._persist(job))

    async def _drive(self, job: JobRecord, saved: SavedWorkflow, prompt: Prompt, outputs: dict[str, tuple[str, ...]]) -> None:
        def expired() -> bool:
            if job.started_at is None and self.comfy.prompt_state(job.prompt_id) == "running":
                self._started(job.id, time.time())  # should ComfyUI's execution_start message not come
            return job.started_at is not None and time.time() - job.started_at > job.timeout

        try:
            try:
                outcome = await self.executor.wait(job.prompt_id, expired)
            except asyncio.TimeoutError:
                job.cancel_reason = job.cancel_reason or "timeout"
                self._stop(job)
                outcome = await self._stopped(job)
            result = self.executor.result(saved.endpoint, prompt, outcome)
        except ConnectError as exc:
            await self._finish(job, None, self._failure(job, exc))
        except asyncio.CancelledError:  # ComfyUI is shutting down: nobody will read the result
            self.comfy.cancel(job.prompt_id)
            raise
        except Exception as exc:
            log.exception("ComfyUI-Connect: job %s failed unexpectedly", job.id)
            await self._finish(job, None, ConnectError(f"unexpected {type(exc).__name__}: {exc}"))
        else:
            job.result, job.output_nodes = result, outputs
            await self._finish(job, collect(outputs, result.outputs), None)
        finally:
            self.executor.forget(job.prompt_id)

    async def _stopped(self, job: JobRecord) -> Outcome:
        deadline = time.monotonic() + _STOP_GRACE
        try:
            return await self.executor.wait(job.prompt_id, lambda: time.monotonic() > deadline)
        except asyncio.TimeoutError:
            log.warning("ComfyUI-Connect: job %s: ComfyUI did not stop prompt %s within %g s", job.id, job.prompt_id, _STOP_GRACE)
            raise RunInterrupted("ComfyUI did not stop the run in time", {"prompt_id": job.prompt_id, "node_id": None}) from None

    def _failure(self, job: JobRecord, exc: ConnectError) -> ConnectError:
        """The error a job ends with; an interrupt is told apart by who asked for it."""
        if not isinstance(exc, RunInterrupted):
            return exc
        if job.cancel_reason == "timeout":
            return RunTimeout(
                f"the run did not finish within {job.timeout:g} s of starting and was interrupted",
                {"prompt_id": job.prompt_id, "timeout": job.timeout},
            )
        details = exc.details if isinstance(exc.details, dict) else {}
        reason = job.cancel_reason or ("removed" if "removed" in exc.message else "interrupted")
        message = REASONS.get(reason, exc.message).replace("{id}", job.id)
        return RunInterrupted(message, {"prompt_id": job.prompt_id, "node_id": details.get("node_id"), "reason": reason})

    async def _finish(self, job: JobRecord, files: dict[str, list[Item]] | None, error: ConnectError | None) -> None:
        job.finished_at, job.plan = time.time(), None  # the plan only re-queues an unfinished job
        if error is None:
            job.status, job.outputs = SUCCEEDED, files
        else:
            job.status = CANCELLED if isinstance(error, RunInterrupted) else FAILED
            job.error, job.error_status = error.body()["error"], error.status
        await self._persist(job)
        self.hub.close(job.id, job.status, self.summary(job))
        release = self._release.pop(job.id, None)
        if release is not None:
            release()
        self._active.pop(job.id, None)
        self._done[job.id].set()
        if job.webhook is not None:
            self._spawn(self._notify(job))
        if job.deleted:
            await self._forget(job)

    # -- cancelling --------------------------------------------------------------------------------------
    async def cancel(self, job: JobRecord, reason: str) -> None:
        """Ask ComfyUI to stop this job's prompt (and no other); the job ends when ComfyUI confirms."""
        if job.finished:
            return
        job.cancel_reason = job.cancel_reason or reason
        self._stop(job)
        await self._persist(job)

    async def delete(self, job: JobRecord) -> None:
        """Cancel the job and forget it once it has ended (webhooks still go out)."""
        job.deleted = True
        await self.cancel(job, "cancelled")
        if job.finished:
            await self._forget(job)

    async def _forget(self, job: JobRecord) -> None:
        await self.store.remove(job.id)
        self._done.pop(job.id, None)
        self.hub.drop(job.id)

    async def _persist(self, job: JobRecord) -> None:
        if not (job.deleted and job.finished):  # a late webhook update must not bring a deleted job back
            try:
                await self.store.put(job)
            except ConnectError as exc:  # the job goes on for whoever waits; the log says what was not kept
                log.error("ComfyUI-Connect: job %s: %s", job.id, exc.message)

    def _stop(self, job: JobRecord) -> None:
        if self.comfy.cancel(job.prompt_id) == "removed":  # it never ran: it will never report back
            self.executor.abandon(job.prompt_id, RunInterrupted("removed from the queue", {"prompt_id": job.prompt_id}))

    # -- webhooks and housekeeping ---------------------------------------------------------------------
    async def _notify(self, job: JobRecord) -> None:
        assert job.webhook is not None
        data = {**self.summary(job), "outputs": await self._render(job) if job.outputs is not None else None}
        body = encode_json({"type": f"job.{job.status}", "timestamp": iso(time.time()), "data": data})
        await deliver(self.webhooks, job.webhook, f"msg_{job.id}", body, lambda _: self._persist(job))

    def summary(self, job: JobRecord) -> dict[str, Any]:
        """The job as the API shows it, without the outputs' content."""
        webhook = job.webhook
        return {
            "id": job.id,
            "workflow": job.workflow,
            "version": job.version,
            "status": job.status,
            "prompt_id": job.prompt_id,
            "position": self.position(job),
            "progress": self.progress(job),
            "queued_at": iso(job.created_at),
            "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at),
            "timeout": job.timeout,
            "cancel_requested": job.cancel_reason is not None and not job.finished,
            "error": job.error,
            "result_expired": job.result_expired,
            "webhook": None if webhook is None else {k: getattr(webhook, k) for k in _WEBHOOK_FIELDS},
            "links": {"self": f"{JOBS_PATH}/{job.id}", "events": f"{JOBS_PATH}/{job.id}/events"},
        }

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prune(self) -> None:
        now = time.time()
        if now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        for job_id in await self.store.prune(now):
            self.hub.drop(job_id)
            self._done.pop(job_id, None)


def restarted(job: JobRecord) -> ServerRestarted:
    return ServerRestarted(
        "ComfyUI stopped (a crash or a restart) while this job was running, so it did not finish; it is not run again"
        " on its own, since the run itself may be what stopped ComfyUI. Start it again to retry.",
        {"prompt_id": job.prompt_id, "reason": "server_restarted"},
    )
