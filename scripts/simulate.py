#!/usr/bin/env python3
"""Simulate a large cluster under four routing policies, with the cluster's own routing code (issue 16).

    scripts/simulate                                  # 200 workers, 30 model sets, 80 % load, 10,000 jobs
    scripts/simulate --load 0.95 --crashes 2 --json   # {"policies": {"fifo": {"p50": ..., ...}, ...}}

Latency is finish - arrival in seconds; swaps count model-set loads; utilisation is the share of worker
time spent loading or running. The model is in scripts/simulation.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields

from simulation import POLICIES, Params, Result, simulate


def _speeds(text: str) -> tuple[float, ...]:
    try:
        speeds = tuple(float(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of speeds; expected e.g. 1,2,4") from None
    if not speeds or min(speeds) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': every speed must be above 0")
    return speeds


def _policies(text: str) -> tuple[str, ...]:
    chosen = tuple(text.split(","))
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown policy {unknown[0]!r}; expected some of {','.join(POLICIES)}")
    return chosen


def parse(argv: list[str]) -> tuple[Params, tuple[str, ...], bool]:
    defaults = Params()
    parser = argparse.ArgumentParser(prog="scripts/simulate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    helps = {
        "workers": "workers in the cluster",
        "models": "model sets (one workflow each)",
        "zipf": "Zipf exponent of model-set popularity",
        "swap": "seconds to load a model set",
        "job": "seconds of a run on a 1x worker",
        "load": "arrival rate / cluster capacity (Poisson arrivals)",
        "jobs": "jobs to run",
        "seed": "random seed (same seed, same numbers)",
        "crashes": "random crashes per worker per hour",
        "vram": "model sets a worker holds at once",
        "lease": "seconds before a crashed worker's running job is re-queued",
        "downtime": "seconds a crashed worker stays away",
        "hold": "affinity: hold-back seconds before any worker may take an offered job",
        "scan": "affinity: offered jobs an idle worker checks for an overloaded target",
    }
    for f in fields(Params):
        if f.name == "speeds":
            continue
        default = getattr(defaults, f.name)
        parser.add_argument(f"--{f.name}", type=type(default), default=default, help=f"{helps[f.name]} (default {default})")
    parser.add_argument("--speeds", type=_speeds, default=defaults.speeds, help="speed mix, equal shares of workers (default 1,2,4)")
    parser.add_argument("--policies", type=_policies, default=POLICIES, help=f"policies to run (default {','.join(POLICIES)})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    params = Params(**{f.name: getattr(args, f.name) for f in fields(Params)})
    if min(params.workers, params.models, params.jobs, params.vram, params.scan) < 1:
        parser.error("--workers, --models, --jobs, --vram and --scan must be at least 1")
    if min(params.load, params.job) <= 0 or min(params.swap, params.crashes, params.lease, params.downtime, params.hold) < 0:
        parser.error("--load and --job must be above 0; --swap, --crashes, --lease, --downtime and --hold at least 0")
    return params, args.policies, args.json


def table(results: dict[str, Result]) -> str:
    lines = [f"{'policy':<10}{'p50 s':>9}{'p95 s':>9}{'p99 s':>9}{'swaps':>8}{'util':>7}"]
    for name, r in results.items():
        lines.append(f"{name:<10}{r.p50:>9.1f}{r.p95:>9.1f}{r.p99:>9.1f}{r.swaps:>8}{r.utilisation:>7.2f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    params, policies, as_json = parse(argv)
    started = time.perf_counter()
    results = simulate(params, policies)
    if as_json:
        print(json.dumps({"policies": {name: asdict(r) for name, r in results.items()}}))
    else:
        print(table(results))
        print(f"({params.jobs} jobs, {params.workers} workers, load {params.load:.0%}: {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
