#!/usr/bin/env python3
"""What the durable job store costs: the SQLite store beside the memory store, in one run.

    .venv/bin/python scripts/bench_jobstore.py            # prints the numbers (about a minute)
    .venv/bin/python scripts/bench_jobstore.py --calls 200

1. Each store call as the runner awaits it (median and p95, microseconds), for the memory store and
   the SQLite store with synchronous=FULL and =NORMAL; and the part of a put that runs on the event
   loop (encoding the record), the only time the loop is held.
2. Runs through the real plugin on the fake engine (tests/support/inproc.py), both stores in one loop
   taking turns: median milliseconds per synchronous run and async jobs per second, memory against SQLite.
3. With --e2e: two real ComfyUI servers (CONNECT_JOBS_STORE=memory and =sqlite), synchronous runs of
   a tiny workflow taking turns between them, median milliseconds per call side by side. --baseline
   PATH adds a third, SQLite with the plugin of another checkout (``git archive <commit> | tar -x -C PATH``):
   the store before and after a change, in the same minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from support.fake_engine import FakeEngine  # noqa: E402
from support.inproc import Plugin, canvas  # noqa: E402
from support.server import prepare  # noqa: E402

from connect.comfy.outcome import Outcome  # noqa: E402
from connect.io.outputs import FileRef  # noqa: E402
from connect.plugin import setup  # noqa: E402
from connect.run import jobstore_sqlite  # noqa: E402
from connect.run.jobcodec import encode  # noqa: E402
from connect.run.jobs import SUCCEEDED, JobQuery, JobRecord, JobStore, MemoryJobStore, Plan, WebhookState  # noqa: E402
from connect.run.jobstore_sqlite import SqliteJobStore  # noqa: E402
from connect.settings import Settings  # noqa: E402


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
    mode = jobstore_sqlite.SYNCHRONOUS
    print(f"\n2. runs through the plugin on the fake engine, {calls} each, taking turns (sqlite: synchronous={mode})")
    latencies: dict[str, list[float]] = {"memory": [], "sqlite": []}
    rates: dict[str, list[float]] = {"memory": [], "sqlite": []}

    async def sync_run(plugin: Plugin, i: int, kind: str) -> None:
        started = time.perf_counter()
        response = await plugin.run("canvas", {"canvas": {"color": i}})
        assert response.status == 200, await response.text()
        await response.read()
        latencies[kind].append((time.perf_counter() - started) * 1000)

    async def async_slice(plugin: Plugin, count: int, kind: str) -> None:
        started = time.perf_counter()
        ids = []
        for i in range(count):
            response = await plugin.run("canvas", {"canvas": {"color": i}}, params={"async": "1"})
            ids.append((await response.json())["id"])
        for job_id in ids:
            await plugin.connect.jobs.wait(job_id, 60)
        rates[kind].append(count / (time.perf_counter() - started))

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            plugins = {kind: await stack.enter_async_context(plugin_on_fake(folder / kind, jobs_store=kind)) for kind in latencies}
            for plugin in plugins.values():
                await plugin.save("canvas", canvas())
            turns = list(plugins.items())
            for i in range(calls):  # in turn (every other round backwards), so both see the same background load
                for kind, plugin in turns if i % 2 == 0 else reversed(turns):
                    await sync_run(plugin, i, kind)
            for i in range(10):
                for kind, plugin in turns if i % 2 == 0 else reversed(turns):
                    await async_slice(plugin, max(calls // 10, 1), kind)

    asyncio.run(main())
    results = {kind: (statistics.median(latencies[kind]), statistics.median(rates[kind])) for kind in latencies}
    for kind, (latency, rate) in results.items():
        print(f"  {kind:>6}: sync run median {latency:6.2f} ms   async {rate:6.0f} jobs/s (median of 10 slices)")
    memory, sqlite = results["memory"], results["sqlite"]
    print(
        f"  sqlite / memory: {sqlite[0] / memory[0]:.2f}x the sync latency (+{sqlite[0] - memory[0]:.2f} ms), "
        f"{sqlite[1] / memory[1]:.2f}x the async throughput"
    )


@contextlib.asynccontextmanager
async def plugin_on_fake(root: Path, **settings: Any) -> AsyncIterator[Plugin]:
    """As tests/support/inproc.run, but several at once in one loop."""
    engine = FakeEngine(root)
    connect = setup(engine, Settings(**settings))
    try:
        async with TestClient(TestServer(engine.serve())) as client:
            yield Plugin(engine, connect, client)
    finally:
        await engine.close()


def section_three(calls: int, folder: Path, baseline: Path | None) -> None:
    import requests
    from launcher import PLUGIN_DIR_NAME, ComfyServer

    latencies: dict[str, list[float]] = {"memory": [], "sqlite": []}
    if baseline is not None:
        latencies[f"sqlite at {baseline}"] = []
    print(f"\n3. real ComfyUI, {calls} synchronous runs each, taking turns ({len(latencies)} servers)")
    with contextlib.ExitStack() as stack:
        urls = {}
        for index, kind in enumerate(latencies):
            base = folder / f"e2e-{index}"
            if kind not in ("memory", "sqlite"):  # the plugin from another checkout: linked before prepare() links this one
                (base / "custom_nodes").mkdir(parents=True)
                (base / "custom_nodes" / PLUGIN_DIR_NAME).symlink_to(baseline or ROOT, target_is_directory=True)
            env = {"CONNECT_JOBS_STORE": "memory" if kind == "memory" else "sqlite"}
            urls[kind] = stack.enter_context(ComfyServer(prepare(base), env=env).running()).url
            put = requests.put(f"{urls[kind]}/api/connect/workflows/canvas", json={"prompt": canvas()}, timeout=30)
            assert put.status_code in (200, 201), put.text
        turns = list(urls.items())
        with requests.Session() as session:
            for i in range(-10, calls):  # ten rounds of warm-up
                for kind, url in turns if i % 2 == 0 else reversed(turns):
                    started = time.perf_counter()
                    response = session.post(f"{url}/api/connect/workflows/canvas", json={"canvas": {"color": i % 256}}, timeout=60)
                    assert response.status_code == 200, response.text
                    if i >= 0:
                        latencies[kind].append((time.perf_counter() - started) * 1000)
    medians = {kind: statistics.median(values) for kind, values in latencies.items()}
    for kind, median in medians.items():
        print(f"  {kind:>6}: median {median:6.2f} ms per run")
    for kind, median in medians.items():
        if kind != "memory":
            # The background load moves whole minutes by more than the difference: each round's own difference says more.
            paired = statistics.median(a - b for a, b in zip(latencies[kind], latencies["memory"], strict=True))
            extra = median - medians["memory"]
            print(f"  {kind} / memory: {median / medians['memory']:.2f}x (+{extra:.2f} ms; per round +{paired:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--e2e", action="store_true", help="also time real ComfyUI servers (section 3)")
    parser.add_argument("--baseline", type=Path, help="with --e2e: a third server, SQLite, with the plugin of this checkout")
    parser.add_argument("--only", choices=("1", "2", "3"), help="run this section only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "1"):
            asyncio.run(section_one(args.calls, Path(folder)))
        if args.only in (None, "2"):
            section_two(args.calls, Path(folder))
        if args.e2e or args.only == "3":
            section_three(args.calls, Path(folder), args.baseline)


if __name__ == "__main__":
    main()
