"""The autoscaling signal as Prometheus gauges, from the `autoscale` object of the cluster listing.

    connect_workflow_queue_depth{workflow}           jobs of the workflow waiting, in every queue
    connect_workflow_oldest_wait_seconds{workflow}   how long the oldest of them has waited (0: none waits)
    connect_workflow_arrivals_per_minute{workflow}   jobs accepted a minute (last 5 minutes, whole cluster)
    connect_workflow_mean_run_seconds{workflow}      mean run time (last hour, whole cluster)
    connect_workers_busy                             sum of arrivals x mean run time (cluster/demand.py)
    connect_workers_needed                           ceil(busy / target utilisation), 1 while a job waits
    connect_workers                                  live instances that run jobs (role worker or both)

In a cluster every instance computes them from the same heartbeats, so each reports the whole
cluster's figures: take max() over the instances (or scrape one), never sum().
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .metrics import Gauge, Labels

_PER_WORKFLOW = (
    ("connect_workflow_queue_depth", "queued", "Jobs of the workflow waiting to be run, in every queue"),
    ("connect_workflow_oldest_wait_seconds", "oldest_wait", "Seconds the workflow's oldest waiting job has waited (0: none waits)"),
    ("connect_workflow_arrivals_per_minute", "arrivals_per_minute", "Jobs of the workflow accepted a minute (last 5 minutes)"),
    ("connect_workflow_mean_run_seconds", "mean_run_seconds", "Mean run time of the workflow (last hour; absent before its first run)"),
)


def autoscale_gauges(autoscale: Mapping[str, Any]) -> list[Gauge]:
    workflows: Mapping[str, Mapping[str, Any]] = autoscale.get("workflows", {})
    gauges = []
    for name, field, help_ in _PER_WORKFLOW:
        values: dict[Labels, float] = {
            (("workflow", wf),): float(f.get(field) or 0.0)
            for wf, f in workflows.items()
            if f.get(field) is not None or field != "mean_run_seconds"
        }
        gauges.append(Gauge(name, help_, values))
    gauges += [
        Gauge(
            "connect_workers_busy",
            "Workers the current demand keeps busy: sum of arrival rate x mean run time",
            {(): float(autoscale.get("busy_workers", 0.0))},
        ),
        Gauge(
            "connect_workers_needed",
            "Workers the current demand needs at the target utilisation (CONNECT_AUTOSCALE_TARGET)",
            {(): float(autoscale.get("workers_needed", 0))},
        ),
        Gauge("connect_workers", "Live instances that run jobs (role worker or both)", {(): float(autoscale.get("workers", 0))}),
    ]
    return gauges
