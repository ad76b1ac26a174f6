#!/usr/bin/env python3
"""What the cluster gives and what it costs, on real processes: one redis-server and real ComfyUI boxes.

    .venv/bin/python scripts/bench_cluster.py             # both sections (a few minutes)
    .venv/bin/python scripts/bench_cluster.py --quick     # small counts, to check that it works
    .venv/bin/python scripts/bench_cluster.py --only 2

1. Throughput on a workflow that mostly waits (ConnectTestSlow, --seconds each, so this 2-core machine
   can show scaling): jobs posted at once to an `api` box, run by 1, then 2, then 3 `worker` boxes,
   beside the same jobs on one box without a cluster. Jobs per second from the job records' own
   timestamps (first queued to last finished), and the ratio to one worker (goal: close to N).
2. Per-call cost of cluster mode on a fast workflow (EmptyImage -> SaveImage), synchronous runs taking
   turns between a box without a cluster, a `both` box alone in its cluster (its runs go through Redis
   to itself) and the `api` box (runs go through Redis to a worker): median milliseconds side by side,
   and the median of each round's own difference to the box without a cluster (goal: under 5 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

import requests  # noqa: E402
from bench_clients import parse_server_timing  # noqa: E402
from launcher import ComfyServer  # noqa: E402
from support.cluster import Fleet  # noqa: E402
from support.server import prepare  # noqa: E402
from support.workflows import canvas, slow_workflow  # noqa: E402

from bench import percentile  # noqa: E402

# Runs must never be refused or answered 202 by the bench's own volume.
BENCH_ENV = {"CONNECT_SYNC_WAIT": "600", "CONNECT_MAX_QUEUE_PER_CLIENT": "10000", "CONNECT_MAX_QUEUE": "10000"}
CLUSTER_KEYS = ("URL", "ROLE", "HEARTBEAT", "LEASE", "ATTEMPTS")


@dataclass(frozen=True)
class Counts:
    jobs_per_worker: int = 12
    seconds: float = 1.0
    calls: int = 200

    @classmethod
    def quick(cls) -> Counts:
        return cls(jobs_per_worker=4, seconds=1.0, calls=30)


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def rate(jobs: list[dict[str, Any]]) -> float:
    """Jobs per second over the span the jobs themselves record: first queued to last finished."""
    first = min(stamp(job["queued_at"]) for job in jobs)
    last = max(stamp(job["finished_at"]) for job in jobs)
    return len(jobs) / (last - first)


def spread(jobs: list[dict[str, Any]]) -> dict[str, int]:
    """How many of the jobs each instance ran."""
    counted: dict[str, int] = {}
    for job in jobs:
        name = str(job.get("instance") or "local")
        counted[name] = counted.get(name, 0) + 1
    return dict(sorted(counted.items()))


def post_all(url: str, count: int, seconds: float) -> list[str]:
    """`count` asynchronous slow runs posted at once (from threads, as that many callers would)."""

    def post(n: int) -> str:
        body: dict[str, Any] = {"canvas": {"color": n % 256}, "slow": {"seconds": seconds}}
        response = requests.post(f"{url}/api/connect/workflows/slow", params={"async": "1"}, json=body, timeout=120)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(min(count, 16)) as pool:
        return list(pool.map(post, range(count)))


def wait_finished(url: str, ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    with requests.Session() as session:
        while len(done) < len(ids):
            for job_id in ids:
                if job_id not in done:
                    job = session.get(f"{url}/api/connect/jobs/{job_id}", timeout=60).json()
                    if job["status"] in ("succeeded", "failed", "cancelled"):
                        assert job["status"] == "succeeded", job
                        done[job_id] = job
            assert time.monotonic() < deadline, f"{len(ids) - len(done)} of {len(ids)} jobs unfinished after {timeout:g} s"
            time.sleep(0.1)
    return [done[job_id] for job_id in ids]


def measure(url: str, count: int, seconds: float) -> list[dict[str, Any]]:
    wait_finished(url, post_all(url, 4, 0.0), 120)  # warm-up: every worker has loaded its nodes
    return wait_finished(url, post_all(url, count, seconds), 60 + count * seconds * 2)


def save(url: str, name: str, prompt: dict[str, Any]) -> None:
    response = requests.put(f"{url}/api/connect/workflows/{name}", json={"prompt": prompt}, timeout=60)
    assert response.status_code in (200, 201), response.text


def single_env(fleet: Fleet) -> dict[str, str]:
    """The fleet's settings without any of the cluster's: one machine, as a user without Redis runs it."""
    settings = fleet.settings("single", "both").items()
    return {k: v for k, v in settings if k != "CONNECT_INSTANCE_ID" and k.removeprefix("CONNECT_CLUSTER_") not in CLUSTER_KEYS}


@contextlib.contextmanager
def single_box(fleet: Fleet) -> Iterator[str]:
    with ComfyServer(prepare(fleet.root / "single", test_nodes=True, inputs={}), env=single_env(fleet)).running() as server:
        yield server.url


def section_one(fleet: Fleet, counts: Counts) -> None:
    print(f"\n1. throughput: ConnectTestSlow {counts.seconds:g} s per job, {counts.jobs_per_worker} jobs per worker posted at once")
    rows: list[tuple[str, int, list[dict[str, Any]]]] = []
    with single_box(fleet) as url:
        save(url, "slow", slow_workflow())
        rows.append(("one box, no cluster", 1, measure(url, counts.jobs_per_worker, counts.seconds)))
    api = fleet.box("api").client
    for workers in (1, 2, 3):
        if workers > 1:
            fleet.add(f"worker-{workers}", "worker")
            fleet.start()
        fleet.wait_members({box.name for box in fleet.boxes})
        fleet.saved("slow", slow_workflow())
        rows.append((f"api + {workers} worker(s)", workers, measure(api.url, counts.jobs_per_worker * workers, counts.seconds)))
    one = rate(rows[1][2])
    ideal = 1 / counts.seconds
    print(f"  {'':<22} {'jobs':>5} {'jobs/s':>8} {'x 1 worker':>11} {'of ideal':>9}   ran on")
    for label, workers, jobs in rows:
        got = rate(jobs)
        print(f"  {label:<22} {len(jobs):>5} {got:>8.2f} {got / one:>10.2f}x {got / (ideal * workers):>8.0%}   {spread(jobs)}")


def timed_run(session: requests.Session, url: str, color: int) -> tuple[float, dict[str, float]]:
    """Milliseconds of one synchronous run, and its Server-Timing parts (the plugin's own, ComfyUI's)."""
    started = time.perf_counter()
    response = session.post(f"{url}/api/connect/workflows/fast", json={"canvas": {"color": color}}, timeout=60)
    took = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return took, parse_server_timing(response.headers.get("Server-Timing", ""))


def section_two(fleet: Fleet, counts: Counts) -> None:
    print(f"\n2. per-call cost of cluster mode: {counts.calls} synchronous runs of EmptyImage -> SaveImage each, taking turns")
    alone = fleet.settings("alone", "both") | {"CONNECT_CLUSTER_URL": fleet.redis.url.removesuffix("/0") + "/1"}
    with contextlib.ExitStack() as stack:
        urls = {"no cluster": stack.enter_context(single_box(fleet))}
        both = ComfyServer(prepare(fleet.root / "alone", test_nodes=True, inputs={}), env=alone)
        urls["both, alone"] = stack.enter_context(both.running()).url
        urls["api -> worker"] = fleet.box("api").client.url
        for url in urls.values():
            save(url, "fast", canvas())
        fleet.saved("fast", canvas())
        latencies: dict[str, list[float]] = {kind: [] for kind in urls}
        parts: dict[str, list[dict[str, float]]] = {kind: [] for kind in urls}
        turns = list(urls.items())
        with requests.Session() as session:
            for i in range(-10, counts.calls):  # ten rounds of warm-up
                for kind, url in turns if i % 2 == 0 else reversed(turns):
                    took, timing = timed_run(session, url, i % 256)
                    if i >= 0:
                        latencies[kind].append(took)
                        parts[kind].append(timing)
    base = latencies["no cluster"]
    print(f"  {'':<14} {'median':>9} {'p95':>9} {'per round vs no cluster':>26}   Server-Timing medians")
    for kind, values in latencies.items():
        paired = statistics.median(a - b for a, b in zip(values, base, strict=True))
        extra = "" if kind == "no cluster" else f"{paired:+.2f} ms ({statistics.median(values) / statistics.median(base):.2f}x)"
        shares = ", ".join(f"{name} {statistics.median(p.get(name, 0.0) for p in parts[kind]):.2f}" for name in ("connect", "comfyui"))
        print(f"  {kind:<14} {statistics.median(values):>6.2f} ms {percentile(values, 95):>6.2f} ms {extra:>26}   {shares}")
    worst = max(statistics.median(a - b for a, b in zip(v, base, strict=True)) for k, v in latencies.items() if k != "no cluster")
    print(f"  cluster overhead per call: {worst:+.2f} ms at most (goal < 5 ms: {'met' if worst < 5 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts, to check that it works")
    parser.add_argument("--seconds", type=float, help="seconds each slow job waits (section 1)")
    parser.add_argument("--calls", type=int, help="synchronous runs per box (section 2)")
    parser.add_argument("--only", choices=("1", "2"), help="run this section only")
    args = parser.parse_args()
    counts = Counts.quick() if args.quick else Counts()
    counts = Counts(counts.jobs_per_worker, args.seconds or counts.seconds, args.calls or counts.calls)
    with tempfile.TemporaryDirectory() as folder, Fleet(Path(folder), env=BENCH_ENV) as fleet:
        fleet.add("api", "api")
        fleet.add("worker-1", "worker")
        fleet.start()
        if args.only in (None, "1"):
            section_one(fleet, counts)
        if args.only in (None, "2"):
            section_two(fleet, counts)


if __name__ == "__main__":
    main()
