#!/usr/bin/env python3
"""What the durable job store costs: the SQLite store beside the memory store, in one run.

    .venv/bin/python scripts/bench_jobstore.py            # prints the numbers (about a minute)
    .venv/bin/python scripts/bench_jobstore.py --calls 200

1. Each store call as the runner awaits it (median and p95, microseconds), for the memory store and
   the SQLite store with synchronous=FULL and =NORMAL; and the part of a put that runs on the event
   loop (encoding the record), the only time the loop is held.
2. Runs through the real plugin on the fake engine (tests/support/inproc.py), one after the other:
   median milliseconds per synchronous run and async jobs per second, memory against SQLite.
3. With --e2e: two real ComfyUI servers (CONNECT_JOBS_STORE=memory and =sqlite), synchronous runs of
   a tiny workflow taking turns between them, median milliseconds per call side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from support.inproc import Plugin, canvas, run  # noqa: E402
from support.server import prepare  # noqa: E402

from connect.comfy.outcome import Outcome  # noqa: E402
from connect.io.outputs import FileRef  # noqa: E402
from connect.run import jobstore_sqlite  # noqa: E402
from connect.run.jobcodec import encode  # noqa: E402
from connect.run.jobs import SUCCEEDED, JobQuery, JobRecord, JobStore, MemoryJobStore, Plan, WebhookState  # noqa: E402
from connect.run.jobstore_sqlite import SqliteJobStore  # noqa: E402


def record(n: int) -> JobRecord:
    prompt = {str(i): {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "color": i}} for i in range(12)}
    job = JobRecord(id=f"job{n:08d}", workflow="bench", prompt_id=f"p{n}", owner=None, timeout=600, webhook=WebhookState("http://x/h"))
    job.plan = Plan(prompt, {"out": ("11",)}, {k: ("t", "EmptyImage") for k in prompt}, {"connect": {"prompt": None}})
    return job


def finish(job: JobRecord) -> None:
    job.status, job.finished_at, job.plan = SUCCEEDED, time.time(), None
    job.result = Outcome(job.prompt_id, {"11": {"images": [{"filename": "t_00001_.png", "subfolder": "", "type": "output"}]}})
    job.output_nodes, job.outputs = {"out": ("11",)}, {"out": [FileRef("t_00001_.png", "", "output")]}


async def timed(samples: list[float], call: Awaitable[Any]) -> None:
    started = time.perf_counter()
    await call
    samples.append((time.perf_counter() - started) * 1e6)


async def store_calls(store: JobStore, calls: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"put (new)": [], "put (finished)": [], "get": [], "select 50": []}
    for n in range(calls):
        job = record(n)
        await timed(found["put (new)"], store.put(job))
        finish(job)
        await timed(found["put (finished)"], store.put(job))
        await timed(found["get"], store.get(job.id))
        if n % 10 == 0:
            await timed(found["select 50"], store.select(JobQuery()))
    return found


def show(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"{label:>16}: median {statistics.median(ordered):8.0f} µs   p95 {ordered[int(len(ordered) * 0.95)]:8.0f} µs"


async def section_one(calls: int, folder: Path) -> None:
    print(f"1. store calls, {calls} jobs each (awaited from the event loop)")
    stores: list[tuple[str, Callable[[], JobStore]]] = [("memory", lambda: MemoryJobStore(10_000, 1e9, 1e9))]
    for mode in ("FULL", "NORMAL"):

        def sqlite(mode: str = mode) -> JobStore:
            jobstore_sqlite.SYNCHRONOUS = mode
            return SqliteJobStore.open(folder / f"{mode}.sqlite3", 10_000, 1e9, 1e9)

        stores.append((f"sqlite {mode}", sqlite))
    for name, make in stores:
        store = make()
        print(f"  {name}")
        for label, samples in (await store_calls(store, calls)).items():
            print("    " + show(label, samples))
    job = record(0)
    finish(job)
    loop_held = []
    for _ in range(calls):
        started = time.perf_counter()
        encode(job)
        loop_held.append((time.perf_counter() - started) * 1e6)
    print("    " + show("on the loop", loop_held) + "   (encoding a finished record: the only part of a put on the loop)")
    jobstore_sqlite.SYNCHRONOUS = "NORMAL"


def section_two(calls: int, folder: Path) -> None:
    print(f"\n2. runs through the plugin on the fake engine, {calls} each (sqlite: synchronous={jobstore_sqlite.SYNCHRONOUS})")
    results: dict[str, tuple[float, float]] = {}
    for kind in ("memory", "sqlite"):
        latencies: list[float] = []
        rate: list[float] = []

        async def scenario(plugin: Plugin, latencies: list[float] = latencies, rate: list[float] = rate) -> None:
            await plugin.save("canvas", canvas())
            for i in range(calls):
                started = time.perf_counter()
                response = await plugin.run("canvas", {"canvas": {"color": i}})
                assert response.status == 200, await response.text()
                await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            ids = []
            for i in range(calls):
                response = await plugin.run("canvas", {"canvas": {"color": i}}, params={"async": "1"})
                ids.append((await response.json())["id"])
            for job_id in ids:
                await plugin.connect.jobs.wait(job_id, 60)
            rate.append(calls / (time.perf_counter() - started))

        run(folder / kind, scenario, jobs_store=kind)
        results[kind] = (statistics.median(latencies), rate[0])
        print(f"  {kind:>6}: sync run median {results[kind][0]:6.2f} ms   async {results[kind][1]:6.0f} jobs/s")
    memory, sqlite = results["memory"], results["sqlite"]
    print(
        f"  sqlite / memory: {sqlite[0] / memory[0]:.2f}x the sync latency (+{sqlite[0] - memory[0]:.2f} ms), "
        f"{sqlite[1] / memory[1]:.2f}x the async throughput"
    )


def section_three(calls: int, folder: Path) -> None:
    import requests
    from launcher import ComfyServer

    print(f"\n3. real ComfyUI, {calls} synchronous runs each, taking turns")
    latencies: dict[str, list[float]] = {"memory": [], "sqlite": []}
    with contextlib.ExitStack() as stack:
        urls = {}
        for kind in latencies:
            server = ComfyServer(prepare(folder / f"e2e-{kind}"), env={"CONNECT_JOBS_STORE": kind})
            urls[kind] = stack.enter_context(server.running()).url
            put = requests.put(f"{urls[kind]}/api/connect/workflows/canvas", json={"prompt": canvas()}, timeout=30)
            assert put.status_code in (200, 201), put.text
        for i in range(calls):
            for kind, url in urls.items():
                started = time.perf_counter()
                response = requests.post(f"{url}/api/connect/workflows/canvas", json={"canvas": {"color": i}}, timeout=60)
                assert response.status_code == 200, response.text
                latencies[kind].append((time.perf_counter() - started) * 1000)
    medians = {kind: statistics.median(values) for kind, values in latencies.items()}
    for kind, median in medians.items():
        print(f"  {kind:>6}: median {median:6.2f} ms per run")
    print(f"  sqlite / memory: {medians['sqlite'] / medians['memory']:.2f}x (+{medians['sqlite'] - medians['memory']:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--e2e", action="store_true", help="also time real ComfyUI servers (section 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(section_one(args.calls, Path(folder)))
        section_two(args.calls, Path(folder))
        if args.e2e:
            section_three(args.calls, Path(folder))


if __name__ == "__main__":
    main()
