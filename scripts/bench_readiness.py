"""What the readiness check adds to a run, on one real ComfyUI, calls alternating between workflows.

    scripts/bench_readiness.py                 # 300 calls each
    scripts/bench_readiness.py --calls 1000

Three workflows of the same shape (EmptyImage -> UpscaleModelLoader + ImageUpscaleWithModel -> SaveImage,
the loader exposed as `$upscaler(model_name)`), each called with the same installed model:
- `ready`:    saved with that model; its verdict is reused between calls (the common case);
- `override`: saved with a model this box lacks, so every call judges its own prompt again
              (node definitions read, the model folder listed): the dearest path that still runs;
- `refused`:  the same, called without the model: answered 409 before anything is queued.
Prints the median and 95th percentile of the plugin's own share (Server-Timing `connect`) of the first
two, their difference (the cost of judging a prompt), and the end-to-end time of a refusal. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from bench_clients import PluginClient
from launcher import REPO, ComfyServer, prepare_base

sys.path.insert(0, str(REPO / "tests"))  # the test kit's tiny upscale model (a few KB, no torch)
from support.models import write_compact_model

MODEL = "bench-tiny.safetensors"
WARM_UP = 20


def workflow(model: str) -> dict[str, Any]:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}, "_meta": {"title": "$canvas"}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": model}, "_meta": {"title": "$upscaler(model_name)"}},
        "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}, "_meta": {"title": ""}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "bench"}, "_meta": {"title": "#out"}},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="measured calls per workflow (after a warm-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connect-readiness-") as base:
        write_compact_model(Path(base) / "models" / "upscale_models" / MODEL, seed=1)
        with ComfyServer(prepare_base(Path(base))).running() as server:
            report = asyncio.run(_measure(server.url, args.calls))
    for line in report:
        print(line)
    return 0


async def _measure(url: str, calls: int) -> list[str]:
    shares: dict[str, list[float]] = {"ready": [], "override": []}
    refusals: list[float] = []
    async with aiohttp.ClientSession() as session:
        for name, model in (("ready", MODEL), ("override", "absent.safetensors"), ("refused", "absent.safetensors")):
            async with session.put(f"{url}/api/connect/workflows/bench-{name}", json={"prompt": workflow(model)}) as response:
                response.raise_for_status()
        client = PluginClient(session, url)
        for index in range(WARM_UP + calls):
            order = ("ready", "override") if index % 2 == 0 else ("override", "ready")
            for name in order:
                call = await client.run(f"bench-{name}", {"canvas": {"color": index + 1}, "upscaler": {"model_name": MODEL}})
                if index >= WARM_UP:
                    shares[name].append(call.server_timing["connect"])
            started = time.perf_counter()
            async with session.post(f"{url}/api/connect/workflows/bench-refused", json={}) as refused:
                await refused.read()
                if refused.status != 409:
                    raise RuntimeError(f"expected 409 endpoint_not_ready, got {refused.status}")
            if index >= WARM_UP:
                refusals.append((time.perf_counter() - started) * 1000)
    lines = []
    for name, values in shares.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        lines.append(f"{name:9s} plugin's share (Server-Timing connect): median {statistics.median(values):.3f} ms, p95 {p95:.3f} ms")
    added = statistics.median(shares["override"]) - statistics.median(shares["ready"])
    lines.append(f"judging each call's prompt again (override - ready, medians): {added:+.3f} ms")
    refused_p95 = statistics.quantiles(refusals, n=20)[-1]
    lines.append(f"refused   409 end to end: median {statistics.median(refusals):.3f} ms, p95 {refused_p95:.3f} ms")
    return lines


if __name__ == "__main__":
    sys.exit(main())
