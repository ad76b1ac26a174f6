"""Versions of the plugin side by side: one real ComfyUI each, calls alternating between them.

    git worktree add /tmp/connect-old <commit>
    scripts/bench_versions.py old=/tmp/connect-old new=.          # 400 calls each
    scripts/bench_versions.py --calls 1000 old=/tmp/connect-old new=.

The machine's background load moves absolute times by tens of percent from one minute to the next, so
a change is judged against the other version measured in the same minutes, call by call. Prints, per
version, the median end-to-end time of the benchmark's trivial workflow, the median of its
Server-Timing `connect` share (the plugin's own), and the server's CPU time per call. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
import psutil
from bench_clients import PluginClient
from launcher import PLUGIN_DIR_NAME, REPO, ComfyServer, prepare_base

WORKFLOW = "versions-invert"
WARM_UP = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="measured calls per version (after a warm-up)")
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
    for name, row in report.items():
        shares = f"plugin's share {row['connect']:.2f} ms   server CPU {row['cpu']:.2f} ms per call"
        print(f"{name:12s} end to end {row['total']:.2f} ms   {shares}")
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
    samples: dict[str, dict[str, list[float]]] = {name: {"total": [], "connect": [], "cpu": []} for name in servers}
    processes = {name: psutil.Process(server.process.pid) for name, server in servers.items() if server.process}
    async with aiohttp.ClientSession() as session:
        for server in servers.values():
            async with session.put(f"{server.url}/api/connect/workflows/{WORKFLOW}", json={"prompt": prompt}) as response:
                response.raise_for_status()
        clients = {name: PluginClient(session, server.url) for name, server in servers.items()}
        for index in range(WARM_UP + calls):
            for name, client in clients.items():  # in turn: both see the same background load
                cpu = sum(processes[name].cpu_times()[:2])
                call = await client.run(WORKFLOW, {"canvas": {"color": index + 1}})
                if index >= WARM_UP:
                    samples[name]["cpu"].append((sum(processes[name].cpu_times()[:2]) - cpu) * 1000)
                    samples[name]["total"].append(call.seconds * 1000)
                    samples[name]["connect"].append(call.server_timing.get("connect", float("nan")))
    return {
        name: {"total": statistics.median(s["total"]), "connect": statistics.median(s["connect"]), "cpu": statistics.fmean(s["cpu"])}
        for name, s in samples.items()
    }


if __name__ == "__main__":
    sys.exit(main())
