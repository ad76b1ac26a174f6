"""Load test: many calls at once from this process against a real ComfyUI, each checked against its own input.

    python scripts/loadtest.py                          # starts its own ComfyUI, 500 calls at concurrency 16
    python scripts/loadtest.py --calls 2000 --concurrency 32 --summary out.json

Every call asks for a different colour and must get back exactly that colour inverted (so a caller that
received another call's output is caught), with a prompt id no other call got. The server's resident
memory is sampled during the run; the run fails if any call fails or memory grows past the bound.
Prints the figures, and writes them as JSON with --summary.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from launcher import ComfyServer, prepare_base
from PIL import Image

KEY = "loadtest-key-0123456789abcdef"  # run-only, as a client would have
ADMIN = "loadtest-admin-0123456789abcdef"  # saves the endpoint
ENDPOINT = {
    "1": {
        "class_type": "EmptyImage",
        "inputs": {"width": 16, "height": 16, "batch_size": 1, "color": 0},
        "_meta": {"title": "Canvas $canvas(color)"},
    },
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}, "_meta": {"title": "Invert"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "load"}, "_meta": {"title": "Save #out"}},
}
WARMUP_CALLS = 32


@dataclass
class Summary:
    calls: int
    concurrency: int
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    calls_per_second: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    rss_growth_mb: float = 0.0
    rss_bound_mb: float = 0.0
    passed: bool = False


def color_of(index: int) -> int:
    return (index * 40503 + 0x010203) % 0x1000000  # a different colour for each of the first 16M calls


def expected_pixel(color: int) -> tuple[int, int, int]:
    return (255 - (color >> 16 & 0xFF), 255 - (color >> 8 & 0xFF), 255 - (color & 0xFF))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def one_call(session: aiohttp.ClientSession, url: str, index: int, seen: set[str]) -> float:
    color = color_of(index)
    started = time.perf_counter()
    async with session.post(f"{url}/api/connect/workflows/load", json={"canvas": {"color": color}}) as response:
        body = await response.read()
        if response.status != 200:
            raise AssertionError(f"call {index}: HTTP {response.status}: {body[:300]!r}")
        prompt_id = response.headers["X-Connect-Prompt-Id"]
    elapsed = time.perf_counter() - started
    images = json.loads(body)["out"]
    with Image.open(io.BytesIO(base64.b64decode(images[0]))) as image:
        got = tuple(image.convert("RGB").getpixel((0, 0)))
    want = expected_pixel(color)
    if len(images) != 1 or any(abs(g - w) > 1 for g, w in zip(got, want, strict=True)):
        raise AssertionError(f"call {index}: got pixel {got} for colour {color:06x}, expected {want}: another call's output?")
    if prompt_id in seen:
        raise AssertionError(f"call {index}: prompt id {prompt_id} was already returned to another call")
    seen.add(prompt_id)
    return elapsed


async def run_calls(url: str, first: int, count: int, concurrency: int, summary: Summary | None, pid: int) -> list[float]:
    latencies: list[float] = []
    seen: set[str] = set()
    samples: list[float] = []
    indices = iter(range(first, first + count))
    headers = {"Authorization": f"Bearer {KEY}"}
    timeout = aiohttp.ClientTimeout(total=120)

    async def worker(session: aiohttp.ClientSession) -> None:
        for index in indices:
            try:
                latencies.append(await one_call(session, url, index, seen))
            except Exception as exc:  # every failure is counted and shown, none stops the run
                if summary is not None:
                    summary.errors.append(f"{type(exc).__name__}: {exc}")

    async def sample() -> None:
        while True:
            samples.append(rss_mb(pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    sampler.cancel()
    if summary is not None:
        summary.rss_mb["peak"] = round(max(samples, default=0.0), 1)
    return latencies


def measure(server: ComfyServer, calls: int, concurrency: int, bound_mb: float) -> Summary:
    assert server.process is not None
    pid = server.process.pid
    summary = Summary(calls, concurrency, rss_bound_mb=bound_mb)
    asyncio.run(run_calls(server.url, 10_000_000, WARMUP_CALLS, concurrency, None, pid))  # warm caches, pools, lazy imports
    summary.rss_mb["after_warmup"] = round(rss_mb(pid), 1)
    started = time.perf_counter()
    latencies = asyncio.run(run_calls(server.url, 0, calls, concurrency, summary, pid))
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.rss_mb["end"] = round(rss_mb(pid), 1)
    summary.ok = len(latencies)
    summary.calls_per_second = round(calls / summary.seconds, 1)
    if latencies:
        ordered = sorted(latencies)
        summary.latency_ms = {
            "p50": round(statistics.median(ordered) * 1000, 1),
            "p95": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
            "p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        }
    summary.rss_growth_mb = round(max(summary.rss_mb["peak"], summary.rss_mb["end"]) - summary.rss_mb["after_warmup"], 1)
    summary.passed = summary.ok == calls and not summary.errors and summary.rss_growth_mb <= bound_mb
    return summary


def start_server(base: Path) -> ComfyServer:
    prepare_base(base)
    server = ComfyServer(base, env={"CONNECT_API_KEYS": f"{ADMIN}, {KEY} run load", "CONNECT_MAX_QUEUE_PER_CLIENT": "64"})
    server.start()
    saved = aiohttp_put(server.url + "/api/connect/workflows/load", {"prompt": ENDPOINT})
    if saved not in (200, 201):
        raise RuntimeError(f"saving the endpoint answered HTTP {saved}")
    return server


def aiohttp_put(url: str, body: Any) -> int:
    async def put() -> int:
        async with aiohttp.ClientSession() as session, session.put(url, json=body, headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            return r.status

    return asyncio.run(put())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rss-bound-mb", type=float, default=256.0, help="largest allowed RSS growth after warm-up")
    parser.add_argument("--summary", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="connect-load-") as tmp:
        server = start_server(Path(tmp))
        try:
            summary = measure(server, args.calls, args.concurrency, args.rss_bound_mb)
        finally:
            server.stop()
    print(
        f"{summary.ok}/{summary.calls} calls correct at concurrency {summary.concurrency} in {summary.seconds} s "
        f"({summary.calls_per_second} calls/s); latency ms {summary.latency_ms}; "
        f"server RSS MB {summary.rss_mb}, growth {summary.rss_growth_mb} (bound {summary.rss_bound_mb}); "
        f"errors {len(summary.errors)}"
    )
    for error in summary.errors[:10]:
        print("  " + error)
    if args.summary:
        args.summary.write_text(json.dumps(asdict(summary), indent=2))
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
