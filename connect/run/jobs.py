"""Job records, and the store that keeps them.

A job is one accepted run of a workflow (its body passed validation and its prompt is on ComfyUI's
queue). Its status moves one way:

    queued ──> running ──> succeeded
      │           ├──────> failed       a node raised, the timeout passed, ComfyUI's worker died
      └───────────┴──────> cancelled    DELETE, the client left, an interrupt from ComfyUI's UI,
                                        taken off ComfyUI's queue

``JobStore`` is the interface a backend implements (async, so a networked one fits). Both kept forms
hold at most ``max_jobs`` records, a finished one for ``ttl`` seconds and its outputs for ``result_ttl``
seconds; records of unfinished jobs are never dropped (their number is bounded by the queue limits).
``MemoryJobStore`` lives and dies with the process; ``SqliteJobStore`` (jobstore_sqlite.py, the
default) outlives it: after a restart the runner finds the jobs that were still going (``pending``)
and re-queues them from their ``Plan``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..comfy.outcome import RunResult
from ..io.delivery import Choice, Mode
from ..io.outputs import Item

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


@dataclass
class WebhookState:
    url: str
    state: str = "pending"  # pending -> delivered | failed
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None


@dataclass
class Plan:
    """What re-queues a job that had not started when ComfyUI stopped: its prompt as prepared, and how it reads back."""

    prompt: dict[str, Any]
    outputs: dict[str, tuple[str, ...]]  # output name -> its node ids in `prompt`
    labels: dict[str, tuple[str | None, str]]  # node id -> (title, class type), for progress events
    extra: dict[str, Any]  # ComfyUI's extra_data (what outputs embed, io/embed.py)


@dataclass
class JobRecord:
    id: str
    workflow: str
    prompt_id: str
    owner: str | None  # the API key id that started it (None without keys)
    timeout: float
    created_at: float = field(default_factory=time.time)
    status: str = QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    outputs: dict[str, list[Item]] | None = None
    # What the run call's delivery modes (delivery.py) render from: ComfyUI's result and each `#` output's nodes.
    result: RunResult | None = None
    output_nodes: dict[str, tuple[str, ...]] | None = None
    result_expired: bool = False
    error: dict[str, Any] | None = None  # the one error shape's inner object: {"type", "message", "details"}
    error_status: int | None = None  # the HTTP status a synchronous call answers with
    cancel_reason: str | None = None  # why a stop was asked for (cancelled, client_disconnected, timeout)
    webhook: WebhookState | None = None
    idempotency_scope: str | None = None
    fingerprint: str | None = None
    # The run call's delivery choice: GET of the job and its webhook render the outputs the same way.
    delivery: Choice = field(default_factory=lambda: Choice(Mode.BASE64))
    deleted: bool = False  # DELETE asked for it to be forgotten once it has ended
    plan: Plan | None = None  # kept while the job has not ended
    # In a cluster (connect/cluster/jobs.py): the instance running it or that ran it, and how many takes so far.
    instance: str | None = None
    attempts: int = 0
    workflow_hash: str | None = None  # sha256 of the workflow file it was prepared from (cluster jobs)

    @property
    def pending(self) -> bool:
        """Not ended, or ended with its webhook still to be delivered: what a restart picks up again."""
        return not self.finished or (self.webhook is not None and self.webhook.state == "pending")

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class JobQuery:
    workflow: str | None = None
    status: str | None = None
    owner: str | None = None  # only this owner's jobs; None: everyone's
    limit: int = 50


class JobStore(Protocol):
    async def put(self, job: JobRecord) -> None:
        """Insert or replace."""

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def find(self, idempotency_scope: str) -> JobRecord | None:
        """The job started with this idempotency scope (workflow, key, Idempotency-Key), if still kept."""

    async def remove(self, job_id: str) -> None: ...

    async def select(self, query: JobQuery) -> list[JobRecord]:
        """Newest first."""

    async def prune(self, now: float) -> list[str]:
        """Drop what is past its age (and outputs past theirs); returns the ids of dropped jobs."""

    async def pending(self) -> list[JobRecord]:
        """Every ``JobRecord.pending`` job, oldest first (after a restart: the runner's to finish)."""

    def held_prompts(self) -> list[dict[str, Any]]:
        """The plans' prompts of jobs that have not ended (their input files are kept). Called off the event loop."""


class MemoryJobStore:
    def __init__(self, max_jobs: int, ttl: float, result_ttl: float, on_result_expired: Callable[[JobRecord], None] | None = None) -> None:
        self.max_jobs = max_jobs
        self.ttl = ttl
        self.result_ttl = result_ttl
        # Called when a job's outputs stop being kept, so their files can be deleted (delivery.py).
        self.on_result_expired = on_result_expired
        self._jobs: OrderedDict[str, JobRecord] = OrderedDict()  # oldest first
        self._scopes: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    async def put(self, job: JobRecord) -> None:
        self.keep(job)

    def keep(self, job: JobRecord) -> None:
        """put() without the await (the SQLite store keeps its records in here too)."""
        self._jobs[job.id] = job
        if job.idempotency_scope is not None:
            self._scopes[job.idempotency_scope] = job.id

    async def get(self, job_id: str) -> JobRecord | None:
        return self._jobs.get(job_id)

    async def find(self, idempotency_scope: str) -> JobRecord | None:
        job_id = self._scopes.get(idempotency_scope)
        return None if job_id is None else self._jobs.get(job_id)

    async def remove(self, job_id: str) -> None:
        self.drop(job_id)

    def drop(self, job_id: str, files: bool = True) -> None:
        """remove() without the await; `files=False` keeps its output files (a record that was never kept elsewhere)."""
        job = self._jobs.pop(job_id, None)
        if job is not None and job.outputs is not None and files:
            self._expire_result(job)
        if job is not None and job.idempotency_scope is not None and self._scopes.get(job.idempotency_scope) == job_id:
            del self._scopes[job.idempotency_scope]

    def _expire_result(self, job: JobRecord) -> None:
        job.outputs, job.result_expired = None, True
        if self.on_result_expired is not None:
            self.on_result_expired(job)

    async def select(self, query: JobQuery) -> list[JobRecord]:
        found = []
        for job in reversed(self._jobs.values()):
            if query.workflow is not None and job.workflow != query.workflow:
                continue
            if query.status is not None and job.status != query.status:
                continue
            if query.owner is not None and job.owner != query.owner:
                continue
            found.append(job)
            if len(found) >= query.limit:
                break
        return found

    async def prune(self, now: float) -> list[str]:
        return self.prune_now(now)

    def prune_now(self, now: float) -> list[str]:
        dropped = []
        for job in list(self._jobs.values()):
            if not job.finished or job.finished_at is None:
                continue
            age = now - job.finished_at
            if age > self.ttl:
                dropped.append(job.id)
            elif age > self.result_ttl and job.outputs is not None:
                self._expire_result(job)
        excess = len(self._jobs) - len(dropped) - self.max_jobs
        if excess > 0:  # the oldest finished ones make room
            kept = [j for j in self._jobs.values() if j.finished and j.id not in dropped]
            dropped += [j.id for j in kept[:excess]]
        for job_id in dropped:
            self.drop(job_id)
        return dropped

    async def pending(self) -> list[JobRecord]:
        return [job for job in self._jobs.values() if job.pending]

    def held_prompts(self) -> list[dict[str, Any]]:
        # A snapshot: called from the input sweeper's thread while the loop may add jobs.
        return [job.plan.prompt for job in list(self._jobs.values()) if job.plan is not None and not job.finished]
