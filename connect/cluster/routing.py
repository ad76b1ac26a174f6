"""Where a job should run: on the worker that will finish it first, by measurement (issue 16).

Pure and I/O-free (no redis-py, no aiohttp, no clock): the live cluster and `scripts/simulate` call this
same code, with `now` passed in.

The model
---------
A worker, as the router sees it (`WorkerView`, from its heartbeat): `ready` or warming; `free_at`, the
time its running and already queued work is expected to end; the model sets it holds loaded, an LRU of
`capacity` sets (least recent first); and the model sets of the jobs already offered to it, in order.
A job (`Job`): its workflow, its model set (the model files its loaders name) and a base duration.

    finish(job, w) = max(now, w.free_at) + load(job, w) + run(job, w)
    load(job, w)   = 0 when w holds the job's model set once its queue has run (its LRU with the queued
                     sets applied), else the measured load time of that set (`Speeds.load_seconds`)
    run(job, w)    = w's own mean run time of the workflow when it has run it; else w's speed factor
                     times the cluster's mean for the workflow (the job's base duration when nobody has
                     run it yet). A speed factor is a worker's mean ratio of its run times to the
                     cluster's means (0.5: twice as fast as the cluster); 1.0 until it has run anything.

`choose` picks the earliest finish (ties: no model load, then the lower id). It looks at the workers
holding the job's model set (an index by model set) and at the `spread` ready workers free soonest (a
heap), never at all of them: a decision costs O(holders + spread log n). A much faster or idle cold worker
wins over a busy warm one exactly when the numbers say so.

Pulling from Redis Streams
--------------------------
Workers pull, so a decision becomes an offer. `offer` chooses the worker (the job's affinity stream) and
counts the job there at once (`free_at` grows by its cost and its model set joins that worker's expected
LRU), so the next job sees that queue. `may_take(worker, offer, now)` says who may pull it: the target
always; any other ready worker once the hold-back ends (`offer.release_at`, at most `hold_back` seconds
after the offer: nothing waits behind a busy suited worker longer than that), at once when the target is
gone or warming, or when that worker would finish the job sooner than the target promised (the target is
overloaded: its estimate slipped). `remove` (or `retain` with a fresh listing) forgets a dead worker:
it leaves the index, so its affinity is dropped and what was offered to it is free for anyone. A warming
worker (its warmup workflows still loading models) is listed but is never offered a job and takes none.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

# Running means weigh the last WINDOW measurements about equally, so a changed box is learnt anew.
WINDOW = 50


@dataclass(frozen=True)
class Job:
    id: str
    workflow: str
    models: str  # the model set: one key for the model files the workflow's loaders name
    base_seconds: float  # run time at 1x, used until somebody has run the workflow


@dataclass(frozen=True)
class WorkerView:
    id: str
    free_at: float  # when its running and queued work is expected to end (<= now: idle)
    loaded: tuple[str, ...] = ()  # model sets held, least recently used first
    queued: tuple[str, ...] = ()  # model sets of the jobs offered to it and not started, in order
    capacity: int = 1  # model sets its VRAM holds at once
    ready: bool = True  # False while warming up


@dataclass(frozen=True)
class Estimate:
    worker: str
    finish: float  # expected absolute finish time
    load: float  # seconds of model loading included (0: already held)
    run: float  # expected run seconds

    @property
    def cost(self) -> float:
        return self.load + self.run


@dataclass(frozen=True)
class Offer:
    job: Job
    worker: str  # the affinity stream the job is offered on first
    finish: float  # the finish the target promised
    release_at: float  # from then on any ready worker may take it
    cost: float  # seconds counted on the target (load + run)


def model_set(files: Iterable[str]) -> str:
    """One key for the model files a workflow's loaders name, the same whatever their order.

    model_set(["b.safetensors", "a.safetensors", "b.safetensors"]) == "a.safetensors|b.safetensors"
    """
    return "|".join(sorted(set(files)))


class _Mean:
    __slots__ = ("count", "value")

    def __init__(self) -> None:
        self.count = 0
        self.value = 0.0

    def add(self, x: float) -> None:
        self.count += 1
        self.value += (x - self.value) / min(self.count, WINDOW)


class Speeds:
    """Measured run times per (worker, workflow), per workflow over the cluster, and model load times."""

    def __init__(self, default_load: float) -> None:
        self.default_load = default_load
        self._own: dict[tuple[str, str], _Mean] = {}
        self._cluster: dict[str, _Mean] = {}
        self._factor: dict[str, _Mean] = {}
        self._load: dict[str, _Mean] = {}

    def record(self, worker: str, workflow: str, seconds: float) -> None:
        """One finished run: its run time without model loading."""
        cluster = self._cluster.setdefault(workflow, _Mean())
        if cluster.count and cluster.value > 0:
            self._factor.setdefault(worker, _Mean()).add(seconds / cluster.value)
        cluster.add(seconds)
        self._own.setdefault((worker, workflow), _Mean()).add(seconds)

    def record_load(self, models: str, seconds: float) -> None:
        self._load.setdefault(models, _Mean()).add(seconds)

    def factor(self, worker: str) -> float:
        mean = self._factor.get(worker)
        return mean.value if mean and mean.count else 1.0

    def run_seconds(self, worker: str, job: Job) -> float:
        own = self._own.get((worker, job.workflow))
        if own is not None:
            return own.value
        cluster = self._cluster.get(job.workflow)
        return self.factor(worker) * (cluster.value if cluster is not None else job.base_seconds)

    def load_seconds(self, models: str) -> float:
        mean = self._load.get(models)
        return mean.value if mean is not None else self.default_load


@dataclass
class _Worker:
    id: str
    free_at: float
    expected: list[str]  # its LRU once its queue has run, least recent first
    capacity: int
    ready: bool


def _touch(lru: list[str], models: str, capacity: int) -> list[str]:
    """Use `models` in an LRU (in place); returns the sets evicted."""
    if models in lru:
        lru.remove(models)
    lru.append(models)
    evicted = lru[: max(0, len(lru) - capacity)]
    del lru[: len(evicted)]
    return evicted


class Router:
    """The cluster as a router sees it. One per dispatcher; every method is O(candidates), none blocks."""

    def __init__(self, speeds: Speeds, hold_back: float = 30.0, spread: int = 4) -> None:
        self.speeds = speeds
        self.hold_back = hold_back
        self.spread = spread
        self._workers: dict[str, _Worker] = {}
        self._holders: dict[str, set[str]] = {}  # model set -> workers that hold it once their queue has run
        self._free: list[tuple[float, str]] = []  # (free_at, id), stale entries skipped when met

    # -- the table, from heartbeats and events

    def upsert(self, view: WorkerView) -> None:
        """A worker's current state (a heartbeat, or an event the dispatcher saw); replaces what was known."""
        expected = list(view.loaded)[-view.capacity :] if view.capacity > 0 else []
        for models in view.queued:
            _touch(expected, models, view.capacity)
        old = self._workers.get(view.id)
        self._unindex(view.id, old.expected if old else [])
        self._workers[view.id] = _Worker(view.id, view.free_at, expected, view.capacity, view.ready)
        for models in expected:
            self._holders.setdefault(models, set()).add(view.id)
        self._push(view.id)

    def remove(self, worker: str) -> None:
        """A worker gone (heartbeat expired, crashed): its affinity is forgotten."""
        old = self._workers.pop(worker, None)
        if old is not None:
            self._unindex(worker, old.expected)

    def retain(self, listed: Iterable[str]) -> None:
        """Keep only the workers of a fresh listing (the live heartbeats); the others are removed."""
        keep = set(listed)
        for worker in [w for w in self._workers if w not in keep]:
            self.remove(worker)

    def holders(self, models: str) -> frozenset[str]:
        return frozenset(self._holders.get(models, ()))

    def workers(self) -> frozenset[str]:
        return frozenset(self._workers)

    # -- decisions

    def estimate(self, job: Job, worker: str, now: float) -> Estimate:
        w = self._workers[worker]
        load = 0.0 if job.models in w.expected else self.speeds.load_seconds(job.models)
        run = self.speeds.run_seconds(worker, job)
        return Estimate(worker, max(now, w.free_at) + load + run, load, run)

    def choose(self, job: Job, now: float, among: Iterable[str] | None = None) -> Estimate | None:
        """The earliest expected finish among the ready workers (or among `among`); None when none is ready."""
        if among is None:
            candidates = self._holders.get(job.models, set()) | set(self._soonest(self.spread))
        else:
            candidates = {w for w in among if w in self._workers}
        best: Estimate | None = None
        for worker in candidates:
            if not self._workers[worker].ready:
                continue
            est = self.estimate(job, worker, now)
            if best is None or (est.finish, est.load > 0, est.worker) < (best.finish, best.load > 0, best.worker):
                best = est
        return best

    def offer(self, job: Job, now: float) -> Offer | None:
        """Choose, and count the job on the chosen worker at once. None when no worker is ready."""
        best = self.choose(job, now)
        if best is None:
            return None
        w = self._workers[best.worker]
        w.free_at = best.finish
        for evicted in _touch(w.expected, job.models, w.capacity):
            self._holders[evicted].discard(w.id)
        self._holders.setdefault(job.models, set()).add(w.id)
        self._push(w.id)
        return Offer(job, best.worker, best.finish, now + self.hold_back, best.cost)

    def may_take(self, worker: str, offer: Offer, now: float) -> bool:
        """Whether `worker` may pull `offer`'s job now (the bounded hold-back)."""
        w = self._workers.get(worker)
        if w is None or not w.ready:
            return False
        if worker == offer.worker or now >= offer.release_at:
            return True
        target = self._workers.get(offer.worker)
        if target is None or not target.ready:
            return True
        return self.estimate(offer.job, worker, now).finish < offer.finish

    # -- private

    def _unindex(self, worker: str, expected: list[str]) -> None:
        for models in expected:
            holders = self._holders.get(models)
            if holders is not None:
                holders.discard(worker)
                if not holders:
                    del self._holders[models]

    def _push(self, worker: str) -> None:
        if len(self._free) > 4 * len(self._workers) + 64:  # stale entries deep in the heap: rebuild it
            self._free = [(w.free_at, w.id) for w in self._workers.values()]
            heapq.heapify(self._free)
        else:
            heapq.heappush(self._free, (self._workers[worker].free_at, worker))

    def _soonest(self, k: int) -> list[str]:
        """The k ready workers free soonest; heap entries that no longer match a worker are dropped."""
        found: list[tuple[float, str]] = []
        while self._free and len(found) < k:
            free_at, worker = heapq.heappop(self._free)
            w = self._workers.get(worker)
            if w is None or w.free_at != free_at or not w.ready or any(worker == f[1] for f in found):
                continue  # stale: a newer entry exists (or the worker left); a warming one is pushed when ready
            found.append((free_at, worker))
        for entry in found:
            heapq.heappush(self._free, entry)
        return [worker for _, worker in found]
