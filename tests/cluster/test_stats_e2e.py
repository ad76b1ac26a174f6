"""Cluster statistics on two real ComfyUI processes and a real redis-server: after runs on both boxes,
GET /api/connect/cluster shows each instance's runs, run times, failures, queue and current job, the
queues, and the autoscaling signal; /metrics carries the instance label and the signal."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.client import wait_until
from support.twoboxes import Boxes, by_id, failing, listing, slow, two_boxes
from support.workflows import steps_workflow

pytestmark = pytest.mark.e2e
RUN = 0.3  # seconds each slow run takes


@pytest.fixture(scope="module")
def boxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxes]:
    with two_boxes(tmp_path_factory.mktemp("stats")) as found:
        found.a.saved("stats/slow", slow(RUN))
        found.a.saved("stats/boom", failing())
        found.a.saved("stats/steps", steps_workflow())
        wait_until(lambda: {"stats/slow", "stats/boom", "stats/steps"} <= {w["name"] for w in found.b.listing()["workflows"]}, 30, "synced")
        yield found


def test_runs_on_both_boxes_show_in_the_listing_with_their_statistics(boxes: Boxes) -> None:
    for _ in range(3):
        boxes.a.run_ok("stats/slow")
    for _ in range(2):
        boxes.b.run_ok("stats/slow")
    assert boxes.b.run("stats/boom").status_code >= 400

    def counted() -> dict[str, dict[str, Any]] | None:
        found = by_id(listing(boxes.a))
        return found if sum(found.get(box, {}).get("runs", 0) for box in ("box-a", "box-b")) == 6 else None

    # Jobs go through Redis: either worker may run each one, and the one that ran it counts it (once).
    wait_until(counted, 30, "both boxes' heartbeats to carry the six runs")
    answer = listing(boxes.b)  # any instance answers for the whole cluster
    found = by_id(answer)
    a, b = found["box-a"], found["box-b"]
    system = boxes.a.call("GET", "/system_stats").json()
    assert a["comfyui_version"] == system["system"]["comfyui_version"] and a["gpu"]["name"] == system["devices"][0]["name"]
    assert a["role"] == "both" and b["role"] == "worker" and a["state"] == "idle"
    assert 0 <= a["heartbeat_age"] < 5 and isinstance(a["loaded_models"], list)
    assert a["failures"] + b["failures"] == 1
    failed = a if a["failures"] else b
    assert failed["recent_failures"][0]["workflow"] == "stats/boom" and failed["recent_failures"][0]["message"]
    for box in (a, b):
        if box["by_workflow"].get("stats/slow", {}).get("runs"):
            assert box["by_workflow"]["stats/slow"]["mean_run_seconds"] >= RUN
            assert box["jobs_per_minute"] > 0
        assert box["reclaims"] == 0 and sum(box["minutes"]["finished"]) == box["runs"]
    assert set(answer["queues"]) == {"connect:jobs"}  # the cluster's one queue, read from Redis
    assert answer["queues"]["connect:jobs"]["depth"] == 0 and answer["queues"]["connect:jobs"]["dead_lettered"] == 0
    autoscale = answer["autoscale"]
    slow_demand = autoscale["workflows"]["stats/slow"]
    assert autoscale["workers"] == 2 and slow_demand["arrivals_per_minute"] > 0 and slow_demand["mean_run_seconds"] >= RUN
    # λ × S summed over workflows, divided by 0.8, rounded up (cluster/demand.py)
    busy = sum(w["arrivals_per_minute"] / 60 * (w["mean_run_seconds"] or 0) for w in autoscale["workflows"].values())
    assert autoscale["busy_workers"] == pytest.approx(busy, abs=0.01) and autoscale["workers_needed"] >= 1
    started = time.perf_counter()
    for _ in range(20):
        listing(boxes.a)
    took = (time.perf_counter() - started) / 20
    print(f"listing: {len(json.dumps(answer))} bytes, {took * 1000:.1f} ms a call (HTTP, 2 instances); autoscale {autoscale}")


def test_busy_workers_show_their_current_jobs_and_the_queue_its_waiting_ones(boxes: Boxes) -> None:
    long = [boxes.a.start("stats/slow", {"slow": {"seconds": 4.0}}) for _ in range(2)]  # one on each worker
    waiting = [boxes.b.start("stats/slow") for _ in range(2)]

    seen: list[dict[str, Any]] = []

    def busy() -> bool:
        answer = listing(boxes.b)
        current = [c["job"] for m in answer["instances"] for c in m.get("current") or []]
        seen[:] = [answer]
        return sorted(current) == sorted(j["id"] for j in long) and answer["queues"]["connect:jobs"]["depth"] == 2

    wait_until(busy, 30, "both workers' heartbeats to show their jobs, and connect:jobs the two waiting")
    answer = seen[0]
    assert {m["state"] for m in answer["instances"]} == {"busy"}
    queue = answer["queues"]["connect:jobs"]
    assert queue["pending"] == 2 and queue["oldest_age"] >= 0 and queue["workflows"]["stats/slow"]["depth"] == 2
    assert answer["autoscale"]["workflows"]["stats/slow"]["queued"] == 2 and answer["autoscale"]["workers_needed"] >= 1
    for job in [*long, *waiting]:
        boxes.a.until(job["id"], lambda j: j["status"] == "succeeded", "the job to finish")


def test_the_running_jobs_progress_is_in_its_instances_entry(boxes: Boxes) -> None:
    job = boxes.b.start("stats/steps", {"steps": {"steps": 40, "seconds": 0.1}})

    seen: list[dict[str, Any]] = []

    def progressing() -> bool:
        seen[:] = [c for m in listing(boxes.a)["instances"] for c in m.get("current") or [] if c["job"] == job["id"]]
        return bool(seen and (seen[0].get("progress") or {}).get("value"))

    wait_until(progressing, 30, "its worker's heartbeat to carry the job's progress")
    current = seen[0]
    assert current["progress"]["max"] == 40 and current["progress"]["node"] == "2"
    boxes.b.until(job["id"], lambda j: j["status"] == "succeeded", "the job to finish")


def test_metrics_carry_the_instance_label_and_the_autoscaling_signal(boxes: Boxes) -> None:
    text = boxes.b.call("GET", "/api/connect/metrics").text
    assert 'connect_http_requests_total{instance="box-b",' in text
    assert 'connect_workflow_arrivals_per_minute{instance="box-b",workflow="stats/slow"}' in text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and line[0] != "#"}
    assert samples['connect_workers{instance="box-b"}'] == 2
    assert samples['connect_workers_needed{instance="box-b"}'] >= 1
    assert samples['connect_workflow_mean_run_seconds{instance="box-b",workflow="stats/slow"}'] >= RUN
