"""Where a run call's time goes inside a live ComfyUI: py-spy on the server while a client calls the plugin.

    scripts/bench_profile.py                   # 20 s of sequential calls of the invert workflow
    scripts/bench_profile.py --seconds 60 --top 40

Starts a real ComfyUI with the plugin (temporary base directory, free port), saves the benchmark's
trivial workflow, warms up, then records the server with py-spy while one client calls it. Prints the
median of the plugin's Server-Timing (its own share and ComfyUI's), and the functions of the event
loop thread that the plugin's code spends its samples in, by inclusive share of that thread's busy
samples. The stacks of every thread are kept in artifacts/profile.txt (collapsed stacks, which
speedscope.app and flamegraph.pl draw). Used to find what
issue 7's "own overhead" is made of (see the README's Benchmarks section); not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bench_clients import PluginClient
from launcher import REPO, ComfyServer, prepare_base

INVERT = "profile-invert"
PLUGIN_FRAME = "ComfyUI-Connect/"
IDLE_FRAME = "select (selectors.py"  # the event loop waiting for I/O: not busy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="how long py-spy records")
    parser.add_argument("--rate", type=int, default=400, help="py-spy samples per second (more distorts a 2-core machine)")
    parser.add_argument("--top", type=int, default=30, help="how many functions to list")
    parser.add_argument("--out", type=Path, default=REPO / "artifacts")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="connect-profile-") as base:
        server = ComfyServer(prepare_base(Path(base))).start()
        try:
            timings = asyncio.run(_record(server, args))
        finally:
            server.stop()
    raw = args.out / "profile.txt"
    busy, shares = plugin_shares(raw.read_text().splitlines())
    print(
        f"{len(timings['connect'])} calls; median ms: plugin's own share {statistics.median(timings['connect']):.2f}, "
        f"ComfyUI's share {statistics.median(timings['comfyui']):.2f}, end to end {statistics.median(timings['total']):.2f}"
    )
    print(f"event loop thread: {busy} busy samples; functions the plugin's code is in (inclusive share):")
    for function, count in shares.most_common(args.top):
        print(f"  {100 * count / max(busy, 1):5.1f}%  {function}")
    print(f"all threads' stacks: {raw} (collapsed stacks: open in speedscope.app or flamegraph.pl)")
    return 0


async def _record(server: ComfyServer, args: argparse.Namespace) -> dict[str, list[float]]:
    assert server.process is not None
    timings: dict[str, list[float]] = {"connect": [], "comfyui": [], "total": []}
    async with aiohttp.ClientSession() as session:
        prompt = json.loads((REPO / "examples" / "invert.json").read_text())
        async with session.put(f"{server.url}/api/connect/workflows/{INVERT}", json={"prompt": prompt}) as response:
            response.raise_for_status()
        plugin = PluginClient(session, server.url)
        colors = iter(range(1, 1 << 24))
        for _ in range(50):  # warm: imports, caches, the first prompt's model-free setup
            await plugin.run(INVERT, {"canvas": {"color": next(colors)}})
        spy = _spy(server.process.pid, args, args.out / "profile.txt")
        await asyncio.sleep(1.0)  # py-spy attaches
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            call = await plugin.run(INVERT, {"canvas": {"color": next(colors)}})
            timings["total"].append(call.seconds * 1000)
            for name in ("connect", "comfyui"):
                if name in call.server_timing:
                    timings[name].append(call.server_timing[name])
        await asyncio.to_thread(spy.wait, 60)
    return timings


def _spy(pid: int, args: argparse.Namespace, out: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", str(args.rate)]
    command += ["--duration", str(args.seconds), "--threads", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def plugin_shares(lines: list[str]) -> tuple[int, collections.Counter[str]]:
    """Busy samples of the event loop thread, and per plugin function the samples it is on the stack of.

    `lines` are py-spy's collapsed stacks (``thread (1): MainThread;f (file.py:3);g (file.py:9) 12``).
    """
    busy = 0
    shares: collections.Counter[str] = collections.Counter()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not frames or "MainThread" not in frames[0] or any(IDLE_FRAME in f for f in frames):
            continue
        busy += int(count)
        for function in dict.fromkeys(re.sub(r":\d+\)$", ")", f) for f in frames if PLUGIN_FRAME in f):
            shares[function] += int(count)
    return busy, shares


if __name__ == "__main__":
    sys.exit(main())
