"""Versions of the plugin side by side: one real ComfyUI each, calls alternating between them.

    git worktree add /tmp/connect-old <commit>
    scripts/bench_versions.py old=/tmp/connect-old new=.          # 400 calls each
    scripts/bench_versions.py --calls 1000 --out bench/versions.json old=/tmp/connect-old new=.

The machine's background load moves absolute times by tens of percent from one minute to the next, so
a change is judged against the other version measured in the same minutes, call by call (the order
within a round flips every round, so neither version always goes first). Prints, per version, the
median end-to-end time of the benchmark's trivial workflow, the median of its Server-Timing `connect`
share (the plugin's own), the server's CPU time per call, its RSS after the calls and the median of a
request to ComfyUI's own GET /prompt (which passes the plugin's middlewares), each also as a ratio to
the first version named. Naming one checkout twice (``a=. b=.``) shows the noise. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from bench_clients import PluginClient
from launcher import PLUGIN_DIR_NAME, REPO, ComfyServer, prepare_base

WORKFLOW = "versions-invert"
WARM_UP = 30
# What is printed per version: key in the report, label, unit.
COLUMNS = (
    ("total", "end to end", "ms"),
    ("connect", "plugin's share", "ms"),
    ("cpu", "server CPU per call", "ms"),
    ("bare", "GET /prompt", "ms"),
    ("rss", "RSS", "MB"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="measured calls per version (after a warm-up)")
    parser.add_argument("--out", type=Path, help="also write the figures (and each ratio to the first version) as JSON")
    parser.add_argument("versions", nargs="+", metavar="NAME=PATH", help="a plugin checkout to load, by a name for the report")
    args = parser.parse_args()
    versions = dict(_version(v) for v in args.versions)
    with tempfile.TemporaryDirectory(prefix="connect-versions-") as base:
        servers = {name: ComfyServer(_base(Path(base) / name, path)) for name, path in versions.items()}
        try:
            for server in servers.values():
                server.start()
            report = asyncio.run(_measure(servers, args.calls))
        finally:
            for server in servers.values():
                server.stop()
    first = next(iter(report.values()))
    for name, row in report.items():
        print(f"{name:12s} " + "   ".join(f"{label} {row[key]:.2f} {unit} ({row[key] / first[key]:.3f})" for key, label, unit in COLUMNS))
    if args.out:
        ratios = {name: {key: row[key] / first[key] for key in row} for name, row in report.items()}
        versions_out = {name: str(path) for name, path in versions.items()}
        document = {"calls": args.calls, "warm_up": WARM_UP, "load_average_after": os.getloadavg(), "versions": versions_out}
        args.out.write_text(json.dumps({**document, "figures": report, "ratio_to_first": ratios}, indent=2) + "\n")
    return 0


def _version(argument: str) -> tuple[str, Path]:
    name, _, path = argument.partition("=")
    checkout = Path(path).resolve()
    if not name or not (checkout / "connect").is_dir():
        raise SystemExit(f"expected NAME=PATH of a plugin checkout, got {argument!r}")
    return name, checkout


def _base(base: Path, checkout: Path) -> Path:
    nodes = base / "custom_nodes"
    nodes.mkdir(parents=True)
    (nodes / PLUGIN_DIR_NAME).symlink_to(checkout, target_is_directory=True)
    return prepare_base(base)  # links this checkout's plugin only if none is there yet


async def _measure(servers: dict[str, ComfyServer], calls: int) -> dict[str, dict[str, float]]:
    prompt = json.loads((REPO / "examples" / "invert.json").read_text())
    samples: dict[str, dict[str, list[float]]] = {
        name: {"total": [], "connect": [], "comfyui": [], "cpu": [], "bare": []} for name in servers
    }
    processes = {name: psutil.Process(server.process.pid) for name, server in servers.items() if server.process}
    async with aiohttp.ClientSession() as session:
        for server in servers.values():
            async with session.put(f"{server.url}/api/connect/workflows/{WORKFLOW}", json={"prompt": prompt}) as response:
                response.raise_for_status()
        clients = list({name: PluginClient(session, server.url) for name, server in servers.items()}.items())
        for index in range(WARM_UP + calls):
            # In turn, so all see the same background load; every other round backwards, so no version is always first.
            for name, client in clients if index % 2 == 0 else reversed(clients):
                cpu = sum(processes[name].cpu_times()[:2])
                call = await client.run(WORKFLOW, {"canvas": {"color": index + 1}})
                if index >= WARM_UP:
                    samples[name]["cpu"].append((sum(processes[name].cpu_times()[:2]) - cpu) * 1000)
                    samples[name]["total"].append(call.seconds * 1000)
                    for share in ("connect", "comfyui"):
                        samples[name][share].append(call.server_timing.get(share, float("nan")))
                    samples[name]["bare"].append(await _bare(session, servers[name].url))
    return {name: _figures(s, processes[name]) for name, s in samples.items()}


async def _bare(session: aiohttp.ClientSession, url: str) -> float:
    """One of ComfyUI's own routes (its queue size): what the plugin's middlewares cost every other request."""
    started = time.perf_counter()
    async with session.get(f"{url}/prompt") as response:
        await response.read()
        response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def _figures(samples: dict[str, list[float]], process: psutil.Process) -> dict[str, float]:
    """Medians and 95th percentiles of the times, the mean CPU per call (psutil counts in clock ticks) and the RSS now."""
    figures = {key: statistics.median(samples[key]) for key in ("total", "connect", "comfyui", "bare")}
    figures |= {f"{key}_p95": statistics.quantiles(samples[key], n=20)[-1] for key in ("total", "connect")}
    return figures | {"cpu": statistics.fmean(samples["cpu"]), "rss": process.memory_info().rss / 2**20}


if __name__ == "__main__":
    sys.exit(main())
