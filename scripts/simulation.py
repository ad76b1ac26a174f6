"""A discrete-event simulation of a cluster of GPU workers (issue 16); `scripts/simulate` is its command.

One event queue (heapq) of arrivals, finishes, hold-back releases, crashes, returns and warmups. Every
policy sees the same jobs (Poisson arrivals, Zipf-popular model sets, the same run-time noise per job) and
the same crashes, drawn from the seed. A worker runs one job at a time; a job whose model set is not
loaded first loads it (`swap` seconds, evicting the least recently used set when VRAM is full). A crash
drops the worker's models and queue; its running job is re-queued when its lease expires; the worker comes
back after `downtime`, warms up (loads one model set, `swap` seconds) and only then takes work.

Policies: `fifo` (one queue, an idle worker pulls the oldest job), `random` (a random worker's queue),
`p2c` (the shorter queue of two random workers), `affinity` (connect/cluster/routing.py, the code the
cluster runs: offers on affinity streams, bounded hold-back, measured speeds and load times).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from connect.cluster.routing import Job, Offer, Router, Speeds, WorkerView

POLICIES = ("fifo", "random", "p2c", "affinity")


@dataclass(frozen=True)
class Params:
    workers: int = 200
    models: int = 30
    zipf: float = 1.1
    swap: float = 20.0  # seconds to load a model set
    job: float = 4.0  # seconds of one run on a 1x worker (mean; each run varies by +-20 %)
    load: float = 0.8  # arrival rate / capacity (sum of speeds / job)
    jobs: int = 10_000
    seed: int = 1
    speeds: tuple[float, ...] = (1.0, 2.0, 4.0)  # equal shares of workers
    crashes: float = 0.0  # per worker per hour
    vram: int = 1  # model sets a worker holds at once
    lease: float = 30.0  # seconds before a crashed worker's running job is re-queued
    downtime: float = 60.0  # seconds a crashed worker stays away
    hold: float = 30.0  # affinity hold-back: seconds before any worker may take an offered job
    scan: int = 16  # affinity: offered jobs an idle worker looks at for an overloaded target


@dataclass(frozen=True)
class Result:
    p50: float
    p95: float
    p99: float
    swaps: int
    utilisation: float


def popularity(models: int, s: float) -> list[float]:
    weights = [1.0 / (k + 1) ** s for k in range(models)]
    total = sum(weights)
    return [w / total for w in weights]


def workload(p: Params) -> list[tuple[float, Job, float]]:
    """(arrival time, job, run-time noise factor) for every job, the same for every policy."""
    rng = random.Random(p.seed)
    rate = p.load * sum(_speed(p, i) for i in range(p.workers)) / p.job
    sets = range(p.models)
    weights = popularity(p.models, p.zipf)
    now, jobs = 0.0, []
    for i in range(p.jobs):
        now += rng.expovariate(rate)
        k = rng.choices(sets, weights)[0]
        jobs.append((now, Job(str(i), f"w{k}", f"m{k}", p.job), rng.uniform(0.8, 1.2)))
    return jobs


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else 0.0


def _speed(p: Params, worker: int) -> float:
    return p.speeds[worker % len(p.speeds)]


def _warm_set(p: Params, worker: int) -> str:
    """The model set a worker's warmup loads: workers spread over the sets by popularity."""
    target, cumulative = (worker + 0.5) / p.workers, 0.0
    for k, share in enumerate(popularity(p.models, p.zipf)):
        cumulative += share
        if cumulative >= target:
            return f"m{k}"
    return f"m{p.models - 1}"


@dataclass
class Worker:
    id: str
    index: int
    speed: float
    lru: list[str]
    ready: bool = True
    running: Job | None = None
    expected_end: float = 0.0  # the router's estimate of when its running job ends
    end: float = 0.0  # when it really ends
    epoch: int = 0  # bumped by a crash, so the lost run's finish event is ignored
    busy: float = 0.0
    runs: int = 0  # jobs finished
    queue: deque[Job] = field(default_factory=deque)  # push policies
    stream: deque[Offer] = field(default_factory=deque)  # affinity: offers on its stream
    reserved: float = 0.0  # affinity: seconds of its stream's untaken offers


class Simulation:
    """One policy over one workload; `run()` returns its numbers."""

    def __init__(self, p: Params, policy: str) -> None:
        self.p = p
        self.policy = policy
        self.now = 0.0
        self.events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.workers = [Worker(f"w{i:04d}", i, _speed(p, i), [_warm_set(p, i)]) for i in range(p.workers)]
        self.by_id = {w.id: w for w in self.workers}
        self.arrival: dict[str, float] = {}
        self.noise: dict[str, float] = {}
        self.latencies: list[float] = []
        self.swaps = 0
        self.idle: dict[str, Worker] = {w.id: w for w in self.workers}  # insertion order: idle longest first
        self.fifo: deque[Job] = deque()
        self.rng = random.Random(p.seed + 1)
        self.router = Router(Speeds(default_load=p.swap), hold_back=p.hold)
        self.pending: dict[str, Offer] = {}  # affinity: job id -> its live offer, oldest first
        self.released: deque[Offer] = deque()
        for w in self.workers:
            self.router.upsert(self._view(w))

    # -- the event loop

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self._seq), action))

    def run(self) -> Result:
        for arrival, job, noise in workload(self.p):
            self.arrival[job.id], self.noise[job.id] = arrival, noise
            self.at(arrival, functools.partial(self.dispatch, job))
        if self.p.crashes > 0:
            for w in self.workers:
                self._next_crash(w, random.Random(f"{self.p.seed}:{w.id}"))
        while self.events and len(self.latencies) < self.p.jobs:
            self.now, _, action = heapq.heappop(self.events)
            action()
        span = max(self.now, 1e-9)
        return Result(
            p50=round(percentile(self.latencies, 50), 2),
            p95=round(percentile(self.latencies, 95), 2),
            p99=round(percentile(self.latencies, 99), 2),
            swaps=self.swaps,
            utilisation=round(sum(w.busy for w in self.workers) / (len(self.workers) * span), 3),
        )

    # -- what every policy shares

    def start(self, w: Worker, job: Job) -> None:
        self.idle.pop(w.id, None)
        load = 0.0
        if job.models not in w.lru:
            load = self.p.swap
            self.swaps += 1
            w.lru.append(job.models)
            del w.lru[: max(0, len(w.lru) - self.p.vram)]
        else:
            w.lru.remove(job.models)
            w.lru.append(job.models)
        run = job.base_seconds * self.noise[job.id] / w.speed
        if self.policy == "affinity":  # what the router can know: its measured means, not this run's noise
            expected_load = self.router.speeds.load_seconds(job.models) if load else 0.0
            w.expected_end = self.now + expected_load + self.router.speeds.run_seconds(w.id, job)
        w.running, w.busy, w.end = job, w.busy + load + run, self.now + load + run
        epoch = w.epoch
        self.at(self.now + load + run, functools.partial(self.finish, w, job, epoch, load, run))
        self._sync(w)

    def finish(self, w: Worker, job: Job, epoch: int, load: float, run: float) -> None:
        if epoch != w.epoch:
            return  # the worker crashed meanwhile
        self.latencies.append(self.now - self.arrival[job.id])
        w.running, w.runs = None, w.runs + 1
        if self.policy == "affinity":
            self.router.speeds.record(w.id, job.workflow, run)
            if load:
                self.router.speeds.record_load(job.models, load)
        self.pull(w)

    def dispatch(self, job: Job) -> None:
        if self.policy == "fifo":
            self._fifo_dispatch(job)
        elif self.policy == "affinity":
            self._affinity_dispatch(job)
        else:
            self._push_dispatch(job)

    def pull(self, w: Worker) -> None:
        """`w` is free: it takes its next job, or waits."""
        job = None
        if self.policy == "fifo":
            job = self.fifo.popleft() if self.fifo else None
        elif self.policy == "affinity":
            offer = self._affinity_next(w)
            job = self._take(w, offer) if offer else None
        elif w.queue:
            job = w.queue.popleft()
        elif self.fifo:  # push policies park jobs there while no worker is ready
            job = self.fifo.popleft()
        if job is not None:
            self.start(w, job)
        else:
            self.idle[w.id] = w
            self._sync(w)

    # -- crashes

    def _next_crash(self, w: Worker, rng: random.Random) -> None:
        self.at(self.now + rng.expovariate(self.p.crashes / 3600), functools.partial(self._crash, w, rng))

    def _crash(self, w: Worker, rng: random.Random) -> None:
        w.epoch += 1
        w.ready, w.lru = False, []
        self.idle.pop(w.id, None)
        if w.running is not None:
            job, w.running = w.running, None
            w.busy -= w.end - self.now  # the part it never ran
            self.at(self.now + self.p.lease, functools.partial(self.dispatch, job))
        orphans = list(w.queue) + [o.job for o in w.stream if self.pending.get(o.job.id) is o]
        w.queue.clear()
        w.stream.clear()
        w.reserved = 0.0
        self.router.remove(w.id)
        for job in orphans:
            self.pending.pop(job.id, None)
            self.dispatch(job)
        self.at(self.now + self.p.downtime, functools.partial(self._back, w, rng))

    def _back(self, w: Worker, rng: random.Random) -> None:
        self.router.upsert(self._view(w))  # listed, warming: offered nothing
        self.at(self.now + self.p.swap, functools.partial(self._warm, w, rng))

    def _warm(self, w: Worker, rng: random.Random) -> None:
        w.lru, w.ready = [_warm_set(self.p, w.index)], True
        w.busy += self.p.swap
        self._next_crash(w, rng)
        self.pull(w)

    # -- fifo, random, p2c

    def _fifo_dispatch(self, job: Job) -> None:
        if self.idle:
            self.start(next(iter(self.idle.values())), job)
        else:
            self.fifo.append(job)

    def _push_dispatch(self, job: Job) -> None:
        ready = [w for w in self.workers if w.ready]
        if not ready:
            self.fifo.append(job)  # nobody to push to: kept until a worker is back
            return
        w = self.rng.choice(ready)
        if self.policy == "p2c":
            other = self.rng.choice(ready)
            if len(other.queue) + (other.running is not None) < len(w.queue) + (w.running is not None):
                w = other
        if w.running is None:
            self.start(w, job)
        else:
            w.queue.append(job)

    # -- affinity: the routing code the cluster runs

    def _affinity_dispatch(self, job: Job) -> None:
        offer = self.router.offer(job, self.now)
        if offer is None:  # nobody ready: anyone who comes back takes it
            self.released.append(Offer(job, "", math.inf, self.now, 0.0))
            self.pending[job.id] = self.released[-1]
            return
        w = self.by_id[offer.worker]
        self.pending[job.id] = offer
        w.stream.append(offer)
        w.reserved += offer.cost
        self.at(offer.release_at, functools.partial(self._release, offer))
        if w.running is None and w.ready:
            self.pull(w)

    def _release(self, offer: Offer) -> None:
        if self.pending.get(offer.job.id) is not offer:
            return  # taken already
        self.released.append(offer)
        best = self.router.choose(offer.job, self.now, among=self.idle)
        if best is not None:
            w = self.by_id[best.worker]
            self.start(w, self._take(w, offer))

    def _affinity_next(self, w: Worker) -> Offer | None:
        if not w.ready:
            return None
        while w.stream:
            offer = w.stream.popleft()
            if self.pending.get(offer.job.id) is offer:
                return offer
        while self.released:
            offer = self.released.popleft()
            if self.pending.get(offer.job.id) is offer:
                return offer
        for offer in itertools.islice(self.pending.values(), self.p.scan):
            if self.router.may_take(w.id, offer, self.now):
                return offer
        return None

    def _take(self, w: Worker, offer: Offer) -> Job:
        del self.pending[offer.job.id]
        if offer.worker:
            target = self.by_id[offer.worker]
            target.reserved = max(0.0, target.reserved - offer.cost)
            if target is not w:
                self._sync(target)
        return offer.job

    def _sync(self, w: Worker) -> None:
        """Tell the router what `w` looks like now (the cluster learns it from heartbeats and events)."""
        if self.policy == "affinity" and w.ready:
            self.router.upsert(self._view(w))

    def _view(self, w: Worker) -> WorkerView:
        busy_until = w.expected_end if w.running is not None else self.now
        queued = tuple(o.job.models for o in w.stream if self.pending.get(o.job.id) is o)
        return WorkerView(w.id, max(busy_until, self.now) + w.reserved, tuple(w.lru), queued, self.p.vram, w.ready)


def simulate(p: Params, policies: tuple[str, ...] = POLICIES) -> dict[str, Result]:
    return {policy: Simulation(p, policy).run() for policy in policies}
