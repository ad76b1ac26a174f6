"""ops/signals.py: the `autoscale` object of the cluster listing as Prometheus gauges."""

from __future__ import annotations

from connect.ops.metrics import Metrics
from connect.ops.signals import autoscale_gauges


def test_the_autoscaling_signal_becomes_gauges_per_workflow() -> None:
    autoscale = {
        "workers": 2,
        "workers_needed": 4,
        "busy_workers": 2.75,
        "target_utilisation": 0.8,
        "workflows": {
            "w": {"arrivals_per_minute": 60.0, "mean_run_seconds": 2.75, "busy_workers": 2.75, "queued": 4, "oldest_wait": 12.5},
            "new": {"arrivals_per_minute": 1.0, "mean_run_seconds": None, "busy_workers": 0.0, "queued": 0, "oldest_wait": None},
        },
    }
    text = Metrics().render({}, "box-a", autoscale_gauges(autoscale))
    lines = set(text.splitlines())
    assert 'connect_workers_needed{instance="box-a"} 4.0' in lines
    assert 'connect_workers_busy{instance="box-a"} 2.75' in lines
    assert 'connect_workers{instance="box-a"} 2.0' in lines
    assert 'connect_workflow_queue_depth{instance="box-a",workflow="w"} 4.0' in lines
    assert 'connect_workflow_oldest_wait_seconds{instance="box-a",workflow="w"} 12.5' in lines
    assert 'connect_workflow_oldest_wait_seconds{instance="box-a",workflow="new"} 0.0' in lines  # none waits
    assert 'connect_workflow_mean_run_seconds{instance="box-a",workflow="w"} 2.75' in lines
    assert not [line for line in lines if line.startswith('connect_workflow_mean_run_seconds{instance="box-a",workflow="new"}')]
    assert "# TYPE connect_workers_needed gauge" in lines
