"""Benchmark: the plugin against stock ComfyUI, on one real ComfyUI, side by side (issue 7).

    scripts/bench                      # full run: about 5-10 minutes on 2 cores
    scripts/bench --quick              # small counts, to check that it works
    scripts/bench --markdown bench/results.json   # print a stored result as the README's table

Measures (1) latency of a trivial workflow, plugin vs a stock client (POST /prompt, websocket,
/history, /view); (2) the plugin's own overhead, end-to-end minus ComfyUI's execution time;
(3) throughput at 1, 4 and 16 concurrent clients; (4) delivery of one 2048x2048 image in each of the
plugin's delivery modes (base64, url, raw, detailed), with each side's delivery part timed on its own;
(5) the `!cache` benefit with two generated checkpoints; (6) ComfyUI's RSS over 1,000 calls.
Sections 1-4 are repeated (--repeat) and reported as the median of the repeats. Prints a table and
writes JSON (--out). Every loop is bounded by a count and by the time budget (--budget).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import bench_report
import psutil
import tiny_models
from bench_clients import MODES, BenchError, Call, PluginClient, StockClient, cached_nodes, execution_ms, history
from launcher import REPO, ComfyServer, comfyui_dir, prepare_base

INVERT = "bench-invert"
DELIVERY = "bench-delivery"
BIG_IMAGE = "bench-2048.png"
# Two for workflows without `!cache`, two for workflows with it.
CHECKPOINTS = tuple(f"bench-tiny-{side}.safetensors" for side in "abcd")
CONCURRENCY = (1, 4, 16)


@dataclass(frozen=True)
class Counts:
    latency: int = 300
    throughput: int = 240  # calls per concurrency level and side
    delivery: int = 15
    cache_rounds: int = 5  # rounds of the four workflows
    rss_calls: int = 1000

    @classmethod
    def quick(cls) -> Counts:
        return cls(latency=40, throughput=48, delivery=3, cache_rounds=2, rss_calls=100)


@dataclass
class Bench:
    server: ComfyServer
    session: aiohttp.ClientSession
    budget_end: float
    colors: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return str(self.server.url)

    @property
    def plugin(self) -> PluginClient:
        return PluginClient(self.session, self.url)

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return int(self.server.process.pid)

    def left(self) -> float:
        return self.budget_end - time.monotonic()

    def invert_payload(self) -> dict[str, Any]:
        # A new colour each call: ComfyUI's cache must never answer in place of running the workflow.
        return {"canvas": {"color": next(self.colors) % 0xFFFFFF}}

    def invert_prompt(self) -> dict[str, Any]:
        prompt = invert_prompt()
        prompt["1"]["inputs"]["color"] = next(self.colors) % 0xFFFFFF
        return prompt

    def plugin_call(self) -> Callable[[], Awaitable[Call]]:
        return lambda: self.plugin.run(INVERT, self.invert_payload())

    def stock_call(self, stock: StockClient) -> Callable[[], Awaitable[Call]]:
        return lambda: stock.run(self.invert_prompt())

    def clean_outputs(self) -> None:
        # SaveImage lists its folder on every save; a folder of thousands of files would slow both sides.
        shutil.rmtree(self.server.base / "output" / "bench", ignore_errors=True)

    async def save(self, name: str, prompt: dict[str, Any]) -> None:
        async with self.session.put(f"{self.url}/api/connect/workflows/{name}", json={"prompt": prompt}) as response:
            if response.status not in (200, 201):
                raise RuntimeError(f"saving {name} answered {response.status}: {await response.text()}")

    async def delete(self, name: str) -> None:
        async with self.session.delete(f"{self.url}/api/connect/workflows/{name}") as response:
            await response.read()


# -- workflows ---------------------------------------------------------------------------------------
def invert_prompt() -> dict[str, Any]:
    prompt: dict[str, Any] = json.loads((REPO / "examples" / "invert.json").read_text())
    prompt["3"]["inputs"]["filename_prefix"] = "bench/invert"
    return prompt


def delivery_prompt() -> dict[str, Any]:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": BIG_IMAGE}, "_meta": {"title": "Source $source(image)"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bench/big"}, "_meta": {"title": "#output"}},
    }


def checkpoint_prompt(ckpt: str, cached: bool) -> dict[str, Any]:
    """txt2img on a tiny checkpoint: 64x64, one step; the seed is exposed so each call really samples."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": ckpt},
            "_meta": {"title": "Loader [!cache]" if cached else "Loader"},
        },
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a bottle", "clip": ["1", 1]}, "_meta": {"title": "Positive"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}, "_meta": {"title": "Negative"}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}, "_meta": {"title": "Latent"}},
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["4", 0],
                "seed": 0,
                "steps": 1,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
            },
            "_meta": {"title": "Sampler $sampler(seed)"},
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}, "_meta": {"title": "Decode"}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "bench/ckpt"}, "_meta": {"title": "#output"}},
    }


# -- statistics --------------------------------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: percentile([1, 2, 3, 4], 50) == 2."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"n": len(values_ms), "median_ms": statistics.median(values_ms), "p95_ms": percentile(values_ms, 95)}


# -- 1 and 2: latency and overhead ---------------------------------------------------------------------
async def latency(bench: Bench, runs: int) -> dict[str, Any]:
    stock = await StockClient(bench.session, bench.url).open()
    plugin_ms: list[float] = []
    stock_ms: list[float] = []
    plugin_over: list[float] = []
    stock_over: list[float] = []
    floor_ms: list[float] = []
    own_ms: list[float] = []  # Server-Timing "connect": time in the plugin's handler not spent waiting for ComfyUI
    handoff_ms: list[float] = []  # Server-Timing "comfyui" minus ComfyUI's execution time
    try:
        for index in range(runs):
            if bench.left() <= 0:
                break
            if index % 100 == 0:
                bench.clean_outputs()
            # Interleaved, so that both sides see the same background load of this shared machine.
            call = await bench.plugin.run(INVERT, bench.invert_payload())
            exec_ms = execution_ms(await history(bench.session, bench.url, call.prompt_id))
            plugin_ms.append(call.seconds * 1000)
            if exec_ms is not None:
                plugin_over.append(call.seconds * 1000 - exec_ms)
                if "comfyui" in call.server_timing:
                    handoff_ms.append(call.server_timing["comfyui"] - exec_ms)
            if "connect" in call.server_timing:
                own_ms.append(call.server_timing["connect"])
            call = await stock.run(bench.invert_prompt())
            exec_ms = execution_ms(await history(bench.session, bench.url, call.prompt_id))
            stock_ms.append(call.seconds * 1000)
            if exec_ms is not None:
                stock_over.append(call.seconds * 1000 - exec_ms)
            floor_ms.append(await round_trip(bench))
    finally:
        await stock.close()
    plugin, base = summary(plugin_ms), summary(stock_ms)
    return {
        "latency": {"plugin": plugin, "stock": base, "ratio": plugin["median_ms"] / base["median_ms"]},
        "overhead": {
            "plugin": summary(plugin_over),
            "stock": summary(stock_over),
            "plugin_handler": summary(own_ms) if own_ms else None,
            "comfyui_handoff": summary(handoff_ms) if handoff_ms else None,
            "http_round_trip": summary(floor_ms),
        },
    }


async def round_trip(bench: Bench) -> float:
    """One bare HTTP request to the same server (GET /prompt: ComfyUI's queue size), for scale."""
    started = time.perf_counter()
    async with bench.session.get(f"{bench.url}/prompt") as response:
        await response.read()
    return (time.perf_counter() - started) * 1000


# -- 3: throughput -----------------------------------------------------------------------------------
async def drive(workers: list[Callable[[], Awaitable[Call]]], total: int, limit_s: float, server_pid: int) -> dict[str, float]:
    """Calls per second; also CPU per call of the server and of this client, which contention on a shared
    machine inflates far less than wall time."""
    remaining = total
    done = 0
    server = psutil.Process(server_pid)
    server_cpu, client_cpu = sum(server.cpu_times()[:2]), time.process_time()
    started = time.perf_counter()

    async def loop(work: Callable[[], Awaitable[Call]]) -> None:
        nonlocal remaining, done
        while remaining > 0 and time.perf_counter() - started < limit_s:
            remaining -= 1
            await work()
            done += 1

    await asyncio.gather(*(loop(w) for w in workers))
    elapsed = time.perf_counter() - started
    server_ms = (sum(server.cpu_times()[:2]) - server_cpu) * 1000
    client_ms = (time.process_time() - client_cpu) * 1000
    per = max(done, 1)
    return {"calls": done, "seconds": elapsed, "per_s": done / elapsed, "server_cpu_ms": server_ms / per, "client_cpu_ms": client_ms / per}


async def throughput(bench: Bench, total: int, slices: int = 4) -> dict[str, Any]:
    """Per level, plugin and stock take turns in `slices` slices, so that both see the same background load."""
    levels: dict[str, Any] = {}
    for clients in CONCURRENCY:
        limit = max(5.0, min(30.0, bench.left() / 4)) / slices
        sides: dict[str, list[dict[str, float]]] = {"plugin": [], "stock": []}
        for _ in range(slices):
            bench.clean_outputs()
            sides["plugin"].append(await drive([bench.plugin_call()] * clients, total // slices, limit, bench.pid))
            # Stock clients are connected only during their own slices: ComfyUI broadcasts queue status to every socket.
            stocks = [await StockClient(bench.session, bench.url).open() for _ in range(clients)]
            try:
                sides["stock"].append(await drive([bench.stock_call(s) for s in stocks], total // slices, limit, bench.pid))
            finally:
                for client in stocks:
                    await client.close()
        plugin, stock = combine(sides["plugin"]), combine(sides["stock"])
        levels[str(clients)] = {"plugin": plugin, "stock": stock, "ratio": plugin["per_s"] / stock["per_s"]}
    return levels


def combine(parts: list[dict[str, float]]) -> dict[str, float]:
    calls = sum(p["calls"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    per = max(calls, 1)
    return {
        "calls": calls,
        "seconds": seconds,
        "per_s": calls / seconds,
        "server_cpu_ms": sum(p["server_cpu_ms"] * p["calls"] for p in parts) / per,
        "client_cpu_ms": sum(p["client_cpu_ms"] * p["calls"] for p in parts) / per,
    }


# -- 4: delivery of one 2048x2048 image ----------------------------------------------------------------
def write_big_image(path: Path) -> None:
    """A 2048x2048 PNG that compresses like a photo (smooth gradients plus grain), not like a flat colour."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:2048, 0:2048].astype(np.float32) / 2048
    base = np.stack([x, y, (x + y) / 2], axis=-1) * 200 + 20
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)


async def delivery(bench: Bench, runs: int) -> dict[str, Any]:
    """The same prompt every call, through each of the plugin's delivery modes and through a stock client.

    Every plugin call re-runs the `#` SaveImage node (the plugin adds a nonce input, so that it never hands
    back a file it has already deleted), so its end-to-end time includes encoding the 2048² PNG again.
    Besides end-to-end times, each side's delivery part is therefore measured on its own: for the plugin,
    end-to-end minus Server-Timing `comfyui` (ComfyUI's queue and execution), of which Server-Timing
    `connect` is the plugin's handler; for stock, its GET /history plus GET /view.

    The stock call comes right after plugin calls, and ComfyUI's (classic) cache keeps only the last
    prompt's results, so stock runs SaveImage again too. A second stock call with the same prompt, at once,
    shows stock answered from its cache ("stock_cached"). Every delivered image must have stock's pixels.
    """
    payload: dict[str, Any] = {}
    samples: dict[str, list[dict[str, float]]] = {side: [] for side in (*MODES, "stock_view", "stock_cached")}
    bench.clean_outputs()
    stock = await StockClient(bench.session, bench.url).open()
    try:
        first = await stock.run(delivery_prompt())
        reference = _only_pixels("stock ComfyUI", first)
        for mode in MODES:  # once each, not measured: the first real execution and anything set up lazily
            _check_pixels(mode, await bench.plugin.run(DELIVERY, payload, mode), reference)
        for index in range(runs):
            if index and bench.left() <= 0:
                break
            # Modes take turns, starting one further each round, so that none always follows stock's call.
            for mode in MODES[index % len(MODES) :] + MODES[: index % len(MODES)]:
                call = await bench.plugin.run(DELIVERY, payload, mode)
                _check_pixels(mode, call, reference)
                samples[mode].append(_plugin_sample(mode, call))
            for side in ("stock_view", "stock_cached"):
                call = await stock.run(delivery_prompt())
                _check_pixels(side, call, reference)
                samples[side].append(_stock_sample(call))
    finally:
        await stock.close()
        bench.clean_outputs()
    return {"image_bytes": len(first.files[0]), **{side: _delivery_summary(found) for side, found in samples.items()}}


def _pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size, image.convert("RGB").tobytes()


def _only_pixels(who: str, call: Call) -> tuple[tuple[int, int], bytes]:
    if len(call.files) != 1:
        raise BenchError(f"{who} delivered {len(call.files)} files for the one-image prompt")
    return _pixels(call.files[0])


def _check_pixels(who: str, call: Call, reference: tuple[tuple[int, int], bytes]) -> None:
    # Not bytes: each plugin run writes a fresh file, whose PNG metadata (the prompt, with its nonce) differs.
    if _only_pixels(who, call) != reference:
        raise BenchError(f"{who} delivered an image whose pixels differ from those stock ComfyUI delivered first")


def _plugin_sample(mode: str, call: Call) -> dict[str, float]:
    timing = call.server_timing
    if "connect" not in timing or "comfyui" not in timing:
        raise BenchError(f"delivery mode {mode!r} answered without Server-Timing connect and comfyui: {timing}")
    total = call.seconds * 1000
    return {
        "ms": total,
        "wire_bytes": call.wire_bytes,
        "comfyui_ms": timing["comfyui"],
        "delivery_ms": total - timing["comfyui"],
        "handler_ms": timing["connect"],
    }


def _stock_sample(call: Call) -> dict[str, float]:
    total, fetch = call.seconds * 1000, (call.fetch_seconds or 0.0) * 1000
    cached = "2" in cached_nodes(call.history_entry)  # node 2: the SaveImage of delivery_prompt()
    return {"ms": total, "wire_bytes": call.wire_bytes, "comfyui_ms": total - fetch, "delivery_ms": fetch, "output_cached": cached}


def _delivery_summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    """End-to-end as before (n, median_ms, p95_ms, wire_bytes), plus the parts: `delivery`, `comfyui` (plugin:
    Server-Timing comfyui; stock: POST /prompt until done) and, for the plugin, `handler` (Server-Timing connect)."""
    found: dict[str, Any] = {
        **summary([s["ms"] for s in samples]),
        "wire_bytes": round(statistics.median(s["wire_bytes"] for s in samples)),
        "delivery": summary([s["delivery_ms"] for s in samples]),
        "comfyui": summary([s["comfyui_ms"] for s in samples]),
    }
    if "handler_ms" in samples[0]:
        found["handler"] = summary([s["handler_ms"] for s in samples])
        found["plugin_handler_median_ms"] = found["handler"]["median_ms"]  # the name older results use
    if "output_cached" in samples[0]:
        found["output_cached"] = sum(1 for s in samples if s["output_cached"])
    return found


# -- 5: !cache ---------------------------------------------------------------------------------------
async def cache_benefit(bench: Bench, rounds: int) -> dict[str, Any]:
    """Four workflows on four checkpoints, run in turn: plain A, cached C, plain B, cached D, ...

    Plain A and B alternate like two workflows without `!cache`; cached C and D like two with it. Taking
    turns means both modes see the same background load of this shared machine.
    """
    plain = {f"bench-ckpt-plain-{side}": ckpt for side, ckpt in zip("ab", CHECKPOINTS[:2], strict=True)}
    cached = {f"bench-ckpt-cached-{side}": ckpt for side, ckpt in zip("cd", CHECKPOINTS[2:], strict=True)}
    for name, ckpt in plain.items():
        await bench.save(name, checkpoint_prompt(ckpt, cached=False))
    for name, ckpt in cached.items():
        await bench.save(name, checkpoint_prompt(ckpt, cached=True))
    # A stock prompt without loaders empties ComfyUI's cache: every workflow starts cold.
    flush = await StockClient(bench.session, bench.url).open()
    await flush.run(bench.invert_prompt())
    await flush.close()
    order = [n for pair in zip(plain, cached, strict=True) for n in pair]  # plain-a, cached-c, plain-b, cached-d
    times: dict[str, list[float]] = {"without": [], "with": []}
    loads = {"without": 0, "with": 0}
    seeds = itertools.count(1)
    for _ in range(rounds):
        for name in order:
            if bench.left() <= 0:
                break
            mode = "with" if name in cached else "without"
            call = await bench.plugin.run(name, {"sampler": {"seed": next(seeds)}})
            times[mode].append(call.seconds * 1000)
            loads[mode] += "1" not in cached_nodes(await history(bench.session, bench.url, call.prompt_id))
    for name in [*plain, *cached]:  # later runs must not carry these `!cache` keepalive nodes
        await bench.delete(name)
    modes: dict[str, Any] = {m: {**summary(t), "mean_ms": statistics.fmean(t), "loads": loads[m]} for m, t in times.items()}
    modes["speedup"] = modes["without"]["mean_ms"] / modes["with"]["mean_ms"]
    return modes


# -- 6: memory ---------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    members = [process, *process.children(recursive=True)]
    return float(sum(p.memory_info().rss for p in members)) / 2**20


async def memory(bench: Bench, calls: int) -> dict[str, Any]:
    """RSS before and after `calls` calls of each side, both read in a settled state."""
    result: dict[str, Any] = {"calls": calls}
    await drive([bench.plugin_call()] * 4, 200, max(5.0, bench.left()), bench.pid)  # steady state first
    await settle(bench)
    for side in ("plugin", "stock"):
        before = rss_mb(bench.pid)
        stocks = [await StockClient(bench.session, bench.url).open() for _ in range(4)] if side == "stock" else []
        work = [bench.stock_call(s) for s in stocks] if stocks else [bench.plugin_call()] * 4
        done = 0
        while done < calls and bench.left() > 0:  # chunks, so that the output folder can be emptied in between
            done += int((await drive(work, min(200, calls - done), max(5.0, bench.left()), bench.pid))["calls"])
            bench.clean_outputs()
        for stock in stocks:
            await stock.close()
        await settle(bench)
        after = rss_mb(bench.pid)
        result[side] = {"calls": done, "before_mb": before, "after_mb": after, "growth_mb": after - before}
    return result


async def settle(bench: Bench) -> None:
    # ComfyUI's worker runs gc.collect() (and frees torch's cache) at most every 10 s after a prompt.
    bench.clean_outputs()
    await asyncio.sleep(min(12.0, max(0.0, bench.left())))


# -- the run -----------------------------------------------------------------------------------------
def median_of(repeats: list[Any]) -> Any:
    """Element-wise median of nested results (numbers), other leaves from the first.

    Results of different versions of this script may differ in shape (a key added, a string where a
    measurement now is): a key is taken from the results that have it, and dicts win over other leaves.
    """
    dicts = [r for r in repeats if isinstance(r, dict)]
    if dicts:
        keys = dict.fromkeys(k for d in dicts for k in d)
        return {k: median_of([d[k] for d in dicts if k in d]) for k in keys}
    first = repeats[0]
    if all(r == first for r in repeats):
        return first  # e.g. counts, or the number of cores: keep them as they are
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(repeats)
    return first


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), platform.processor())
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "gpu": "no GPU (ComfyUI --cpu)",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "comfyui": _comfyui_version(),
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def _comfyui_version() -> str:
    text = (comfyui_dir() / "comfyui_version.py").read_text() if (comfyui_dir() / "comfyui_version.py").exists() else ""
    return next((line.split("=")[1].strip().strip("\"'") for line in text.splitlines() if "__version__" in line), "unknown")


async def warm_up(bench: Bench) -> None:
    stock = await StockClient(bench.session, bench.url).open()
    for _ in range(20):
        await bench.plugin.run(INVERT, bench.invert_payload())
        await stock.run(bench.invert_prompt())
    await stock.close()


async def measure(server: ComfyServer, counts: Counts, repeat: int, budget: float) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        bench = Bench(server, session, time.monotonic() + budget)
        await bench.save(INVERT, invert_prompt())
        await bench.save(DELIVERY, delivery_prompt())
        await warm_up(bench)
        print("[bench] memory over 1,000 calls", file=sys.stderr, flush=True)
        rss = await memory(bench, counts.rss_calls)
        repeats = []
        for index in range(repeat):
            print(f"[bench] repeat {index + 1}/{repeat}: latency, throughput, delivery", file=sys.stderr, flush=True)
            one = await latency(bench, counts.latency)
            one["throughput"] = await throughput(bench, counts.throughput)
            one["delivery"] = await delivery(bench, counts.delivery)
            repeats.append(one)
        print("[bench] !cache: four workflows on four checkpoints", file=sys.stderr, flush=True)
        cache = await cache_benefit(bench, counts.cache_rounds)
        return {**median_of(repeats), "memory": rss, "cache": cache, "repeats": repeats, "budget_left_s": bench.left()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    counts = Counts.quick() if args.quick else Counts()
    models = REPO / "artifacts" / "models"
    tiny_models.generate([models / name for name in CHECKPOINTS])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="connect-bench-") as tmp:
        base = prepare_base(Path(tmp))
        for name in CHECKPOINTS:
            target = base / "models" / "checkpoints" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(models / name)
        write_big_image(base / "input" / BIG_IMAGE)
        server = ComfyServer(base)
        print(f"[bench] starting ComfyUI on {server.url} (base {base})", file=sys.stderr, flush=True)
        server.start()
        try:
            measured = asyncio.run(measure(server, counts, args.repeat, args.budget))
        except BaseException:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "counts": counts.__dict__,
        "repeat": args.repeat,
        **measured,
    }
    result["targets"] = bench_report.targets(result)
    return result


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of whole runs, leaf by leaf; each run's own figures are kept under "runs"."""
    runs = [{k: v for k, v in r.items() if k not in ("repeats", "targets", "runs")} for r in results]
    merged: dict[str, Any] = median_of(runs)
    merged["load_average"] = {
        "before": max(r["load_average"]["before"] for r in runs),
        "after": max(r["load_average"]["after"] for r in runs),
    }
    merged["runs"] = runs
    merged["targets"] = bench_report.targets(merged)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description="ComfyUI-Connect benchmark against stock ComfyUI (issue 7)")
    parser.add_argument("--quick", action="store_true", help="small counts, to check that everything runs")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of sections 1-4; their median is reported")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds; every loop stops when it is spent")
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "bench.json")
    parser.add_argument("--markdown", type=Path, metavar="JSON", help="print a stored result as Markdown and exit")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON", help="write the median of several runs' results to --out")
    args = parser.parse_args()
    if args.markdown:
        print(bench_report.markdown(json.loads(args.markdown.read_text())))
        return 0
    result = merge([json.loads(p.read_text()) for p in args.merge]) if args.merge else run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(bench_report.table(result))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
