"""cluster/demand.py: the autoscaling formula, N = ceil(sum(λ × S) / U), at least 1 while a job waits."""

from __future__ import annotations

from typing import Any

import pytest

from connect.cluster.demand import Demand, busy_workers, merge, signal, workers_needed
from connect.cluster.queues import WorkflowQueue


@pytest.mark.parametrize(
    ("demands", "target", "needed"),
    [
        pytest.param({}, 0.8, 0, id="no-demand"),
        pytest.param({"w": Demand(60.0, 4.0, 10)}, 0.8, 5, id="1-per-s-of-4-s-jobs-keeps-4-busy-at-80pct-5"),
        pytest.param({"w": Demand(48.0, 1.0, 10)}, 0.8, 1, id="exactly-one-worker-not-two"),
        pytest.param({"w": Demand(60.0, 4.0, 10), "v": Demand(30.0, 2.0, 5)}, 1.0, 5, id="workflows-add-up"),
        pytest.param({"w": Demand(0.0, 4.0, 10, queued=3, oldest_wait=30.0)}, 0.8, 1, id="a-waiting-job-needs-a-worker"),
        pytest.param({"w": Demand(60.0, 4.0, 10), "new": Demand(60.0, None, 0)}, 0.8, 10, id="unknown-run-time-takes-the-others-mean"),
    ],
)
def test_workers_needed(demands: dict[str, Demand], target: float, needed: int) -> None:
    assert workers_needed(demands, target) == needed


def test_demand_is_merged_over_instances_weighted_by_runs() -> None:
    instances: list[dict[str, Any]] = [
        {"by_workflow": {"w": {"arrivals_per_minute": 30.0, "mean_run_seconds": 2.0, "runs": 30}}},
        {"by_workflow": {"w": {"arrivals_per_minute": 30.0, "mean_run_seconds": 5.0, "runs": 10}}},
        {"id": "an api instance without statistics"},
    ]
    demands = merge(instances, {"w": WorkflowQueue(4, 12.5), "q": WorkflowQueue(1, 3.0)})
    assert demands["w"] == Demand(60.0, (30 * 2.0 + 10 * 5.0) / 40, 40, 4, 12.5)
    assert demands["q"] == Demand(0.0, None, 0, 1, 3.0)
    assert busy_workers(demands)["w"] == pytest.approx(2.75)
    answer = signal(demands, 0.8, workers=2)
    assert answer["workers_needed"] == 4 and answer["busy_workers"] == 2.75 and answer["workers"] == 2  # ceil(2.75 / 0.8)
    assert answer["workflows"]["w"] == {
        "arrivals_per_minute": 60.0,
        "mean_run_seconds": 2.75,
        "busy_workers": 2.75,
        "queued": 4,
        "oldest_wait": 12.5,
    }
