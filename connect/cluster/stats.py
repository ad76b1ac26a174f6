"""What this instance did in the last hour, from the jobs it ran: kept in memory, in one-minute buckets.

    stats = RunStats()                 # the JobWatch (run/watch.py) of the job runner's store
    stats.accepted(job); stats.finished(job)
    stats.snapshot(progress)           # the figures its heartbeat and GET /api/connect/cluster show

Per minute and workflow it counts arrivals, successes, failures, cancellations and reclaims, and sums
run times (started -> finished), so the last hour's throughput and latency can be drawn by any page
that reads one heartbeat (the page needs no history of its own) and the arrival rate the autoscaling
signal needs (cluster/demand.py) is at hand. Sixty buckets a workflow at most: memory stays bounded.

In a cluster (CONNECT_CLUSTER_URL) jobs live in Redis, not in the local store, so the job engine tells
it directly: the instance that accepts a run counts its arrival (``arrived``; once per job, on one
instance, so the cluster's arrival rate is the sum of the instances' and counts jobs still waiting for a
worker: counting when a worker takes it would cap the rate at the workers' throughput, and an autoscaler
would never see demand beyond it); the worker that takes a job follows it (``accepted(again=True)``, no
arrival) and counts its end and run time (``finished``), and a take of a job whose previous attempt
lapsed (``reclaimed``); a queued job cancelled before any worker took it ends on the instance that
cancelled it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..run.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobRecord
from .queues import QueueStats, WorkflowQueue

MINUTES = 60  # the window: one hour of one-minute buckets
RATE_MINUTES = 5  # rates (jobs and arrivals per minute) are over the last five minutes
RECENT_FAILURES = 20
Clock = Callable[[], float]
Progress = Callable[[JobRecord], "dict[str, Any] | None"]


@dataclass
class Tally:
    arrived: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    reclaimed: int = 0
    timed: int = 0  # runs that started, whose run time is in run_seconds
    run_seconds: float = 0.0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    def add(self, other: Tally, sign: int = 1) -> None:
        self.arrived += sign * other.arrived
        self.succeeded += sign * other.succeeded
        self.failed += sign * other.failed
        self.cancelled += sign * other.cancelled
        self.reclaimed += sign * other.reclaimed
        self.timed += sign * other.timed
        self.run_seconds += sign * other.run_seconds


@dataclass
class Minute:
    at: int  # minutes since the epoch
    workflows: dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)  # every workflow's, kept as they count


class RunStats:
    """Implements ``JobWatch`` (run/watch.py); everything runs on the event loop, so no lock."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._started = clock()
        self._minutes: deque[Minute] = deque()
        # The hour's totals per workflow, kept as minutes count and expire: a snapshot (each heartbeat,
        # each poll of the page) does not add up 60 minutes of every workflow on the event loop.
        self._hour: dict[str, Tally] = {}
        self._open: dict[str, JobRecord] = {}  # accepted, not finished: the local queue and the current job
        self._failures: deque[dict[str, Any]] = deque(maxlen=RECENT_FAILURES)

    # -- JobWatch -------------------------------------------------------------------------------------
    def accepted(self, job: JobRecord, *, again: bool = False) -> None:
        self._open[job.id] = job
        if not again:  # a job re-queued after a restart arrived before it
            self._count(job.workflow, Tally(arrived=1))

    def withdrawn(self, job: JobRecord) -> None:
        """Refused after all (ComfyUI would not queue it): no longer waiting, and no demand for a worker."""
        self._open.pop(job.id, None)
        current = self._minutes[-1].workflows.get(job.workflow) if self._minutes else None
        if current is not None and current.arrived > 0:  # counted this minute: taken back
            self._count(job.workflow, Tally(arrived=-1))

    def finished(self, job: JobRecord) -> None:
        self._open.pop(job.id, None)
        at = job.finished_at or self._clock()
        ran = job.started_at is not None  # a job cancelled while it waited never ran: no run time
        self._count(
            job.workflow,
            Tally(
                succeeded=int(job.status == SUCCEEDED),
                cancelled=int(job.status == CANCELLED),
                failed=int(job.status not in (SUCCEEDED, CANCELLED)),
                timed=int(ran),
                run_seconds=max(0.0, at - (job.started_at or at)),
            ),
        )
        if job.status == FAILED:
            error = job.error or {}
            self._failures.appendleft(
                {"job": job.id, "workflow": job.workflow, "at": round(at, 3), "type": error.get("type"), "message": error.get("message")}
            )

    def reclaimed(self, workflow: str) -> None:
        """This instance took a job of `workflow` whose previous attempt lapsed (its worker stopped holding it).
        Counted by the taker, not by the worker that lost it: that one is often dead (kill -9, power)."""
        self._count(workflow, Tally(reclaimed=1))

    # -- the distributed jobs (cluster/worker.py, cluster/jobs.py) --------------------------------------------
    def arrived(self, workflow: str) -> None:
        """A cluster job accepted here (queued in Redis): counted once, by the instance that accepted it, so the
        instances' arrival rates add up to the cluster's, and jobs that wait for a worker count as demand."""
        self._count(workflow, Tally(arrived=1))

    def released(self, job: JobRecord) -> None:
        """A job this worker held was taken over by another: it ends there, and is counted there."""
        self._open.pop(job.id, None)

    # -- reading ------------------------------------------------------------------------------------------
    def snapshot(self, progress: Progress = lambda job: None) -> dict[str, Any]:
        now = self._clock()
        self._expire(now)
        hour = {name: tally for name, tally in self._hour.items() if tally.arrived or tally.finished or tally.reclaimed}
        recent = self._totals(m for m in self._minutes if m.at > int(now // 60) - RATE_MINUTES)
        per_minute = 60.0 / self._rate_seconds(now)
        by_workflow = {
            name: {
                "runs": t.finished,
                "failures": t.failed,
                "mean_run_seconds": _mean(t),
                "arrivals_per_minute": round(recent.get(name, Tally()).arrived * per_minute, 3),
            }
            for name, t in sorted(hour.items())
        }
        total = Tally()
        for tally in hour.values():
            total.add(tally)
        return {
            "jobs_per_minute": round(sum(t.finished for t in recent.values()) * per_minute, 3),
            "runs": total.finished,
            "failures": total.failed,
            "cancelled": total.cancelled,
            "reclaims": total.reclaimed,
            "mean_run_seconds": _mean(total),
            "by_workflow": by_workflow,
            "current": [self._current(job, now, progress) for job in self._open.values() if job.status == RUNNING],
            "queue": self.queue(now).as_json(),
            "recent_failures": list(self._failures),
            "minutes": self._series(now),
        }

    def queue(self, now: float | None = None) -> QueueStats:
        """Connect's jobs on this instance's ComfyUI: waiting (depth) and running (pending), oldest wait first."""
        now = self._clock() if now is None else now
        waiting = [job for job in self._open.values() if job.status == QUEUED]
        by_workflow: dict[str, WorkflowQueue] = {}
        for job in waiting:
            seen = by_workflow.get(job.workflow, WorkflowQueue(0, 0.0))
            by_workflow[job.workflow] = WorkflowQueue(seen.depth + 1, max(seen.oldest_age or 0.0, now - job.created_at))
        running = sum(1 for job in self._open.values() if job.status == RUNNING)
        oldest = max((now - job.created_at for job in waiting), default=None)
        return QueueStats(len(waiting), oldest, running, 0, by_workflow)

    # -- inside ---------------------------------------------------------------------------------------------
    def _count(self, workflow: str, delta: Tally) -> None:
        """Add `delta` to the current minute (a job counts in the minute it was seen to arrive or end) and the hour."""
        now = self._clock()
        minute = int(now // 60)
        if not self._minutes or self._minutes[-1].at < minute:
            self._minutes.append(Minute(minute))
            self._expire(now)
        current = self._minutes[-1]
        current.workflows.setdefault(workflow, Tally()).add(delta)
        current.total.add(delta)
        self._hour.setdefault(workflow, Tally()).add(delta)

    def _expire(self, now: float) -> None:
        oldest = int(now // 60) - MINUTES + 1
        while self._minutes and self._minutes[0].at < oldest:
            for name, tally in self._minutes.popleft().workflows.items():
                left = self._hour[name]
                left.add(tally, -1)
                if not (left.arrived or left.finished or left.reclaimed or left.timed):
                    del self._hour[name]  # a workflow not seen for an hour is forgotten

    def _rate_seconds(self, now: float) -> float:
        """The span the rates are over: the last RATE_MINUTES buckets (the current one partial), or the uptime."""
        span = (RATE_MINUTES - 1) * 60 + (now % 60)
        return max(1.0, min(span, now - self._started))

    @staticmethod
    def _totals(minutes: Iterable[Minute]) -> dict[str, Tally]:
        totals: dict[str, Tally] = {}
        for minute in minutes:
            for name, tally in minute.workflows.items():
                totals.setdefault(name, Tally()).add(tally)
        return totals

    def _series(self, now: float) -> dict[str, Any]:
        """The last hour, one entry a minute, oldest first (the current minute last): what the charts draw."""
        last = int(now // 60)
        kept = {m.at: m.total for m in self._minutes}
        finished: list[int] = []
        failed: list[int] = []
        mean: list[float | None] = []
        for at in range(last - MINUTES + 1, last + 1):
            total = kept.get(at) or Tally()
            finished.append(total.finished)
            failed.append(total.failed)
            mean.append(_mean(total))
        return {"start": (last - MINUTES + 1) * 60, "step": 60, "finished": finished, "failed": failed, "mean_run_seconds": mean}

    @staticmethod
    def _current(job: JobRecord, now: float, progress: Progress) -> dict[str, Any]:
        started = job.started_at or now
        return {"job": job.id, "workflow": job.workflow, "running_seconds": round(now - started, 3), "progress": progress(job)}


def _mean(tally: Tally) -> float | None:
    return round(tally.run_seconds / tally.timed, 4) if tally.timed else None
