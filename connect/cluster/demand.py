"""The autoscaling signal: how many workers the current demand needs.

    busy workers  B = sum over workflows of  λ_w × S_w
    needed        N = ceil(B / U), at least 1 while a job waits

λ_w is workflow w's arrival rate (jobs a second, over the last five minutes, added up over every
instance that accepted them), S_w its mean run time (seconds, over the last hour, weighted by each
instance's runs) and U the target utilisation (CONNECT_AUTOSCALE_TARGET, 0.8 by default: a worker kept
80 % busy still has room for bursts). By Little's law B is how many workers are busy on average at that
rate; dividing by U leaves the headroom. A workflow that has not finished a run yet (S unknown) counts
with the mean run time of the others. Queue depth and the oldest wait per workflow come with it, for
rules that scale on a backlog instead (README "Cluster statistics").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .queues import WorkflowQueue


@dataclass(frozen=True)
class Demand:
    arrivals_per_minute: float = 0.0
    mean_run_seconds: float | None = None
    runs: int = 0
    queued: int = 0
    oldest_wait: float | None = None


def merge(instances: Iterable[Mapping[str, Any]], waiting: Mapping[str, WorkflowQueue]) -> dict[str, Demand]:
    """Each workflow's demand over the instances' published statistics (their `by_workflow`) and the queues."""
    rate: dict[str, float] = {}
    runs: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for instance in instances:
        for name, figures in dict(instance.get("by_workflow") or {}).items():
            rate[name] = rate.get(name, 0.0) + float(figures.get("arrivals_per_minute") or 0.0)
            mean, count = figures.get("mean_run_seconds"), int(figures.get("runs") or 0)
            if mean is not None and count:
                runs[name] = runs.get(name, 0) + count
                seconds[name] = seconds.get(name, 0.0) + float(mean) * count
    demands: dict[str, Demand] = {}
    for name in sorted({*rate, *waiting}):
        queue = waiting.get(name, WorkflowQueue(0, None))
        mean = seconds[name] / runs[name] if runs.get(name) else None
        demands[name] = Demand(rate.get(name, 0.0), mean, runs.get(name, 0), queue.depth, queue.oldest_age)
    return demands


def busy_workers(demands: Mapping[str, Demand]) -> dict[str, float]:
    """λ_w × S_w per workflow (workers kept busy by it); an unknown S_w takes the others' mean."""
    known = [d for d in demands.values() if d.mean_run_seconds is not None and d.runs]
    fallback = sum(d.mean_run_seconds or 0.0 for d in known) / len(known) if known else 0.0
    return {
        name: d.arrivals_per_minute / 60.0 * (d.mean_run_seconds if d.mean_run_seconds is not None else fallback)
        for name, d in demands.items()
    }


def workers_needed(demands: Mapping[str, Demand], target: float) -> int:
    needed = math.ceil(round(sum(busy_workers(demands).values()) / target, 6))  # rounded: 0.8/0.8 is 1, not 2
    if needed == 0 and any(d.queued for d in demands.values()):
        return 1  # a job waits and nothing would run it
    return needed


def signal(demands: Mapping[str, Demand], target: float, workers: int) -> dict[str, Any]:
    """The `autoscale` object of GET /api/connect/cluster."""
    busy = busy_workers(demands)
    return {
        "workers": workers,
        "workers_needed": workers_needed(demands, target),
        "busy_workers": round(sum(busy.values()), 4),
        "target_utilisation": target,
        "workflows": {
            name: {
                "arrivals_per_minute": round(d.arrivals_per_minute, 3),
                "mean_run_seconds": None if d.mean_run_seconds is None else round(d.mean_run_seconds, 4),
                "busy_workers": round(busy[name], 4),
                "queued": d.queued,
                "oldest_wait": None if d.oldest_wait is None else round(d.oldest_wait, 3),
            }
            for name, d in demands.items()
        },
    }
