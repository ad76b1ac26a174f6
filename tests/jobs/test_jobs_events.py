"""Server-Sent Events of a job on a real ComfyUI: order, steps, outputs, final state, resuming."""

from __future__ import annotations

import pytest
from support.client import Client
from support.sse import stream

pytestmark = pytest.mark.e2e


def test_events_of_a_multi_node_run_arrive_in_order(idle: Client) -> None:
    job = idle.start("steps", {"canvas": {"color": 0x203040}, "steps": {"steps": 4, "seconds": 0.2}})
    events = stream(idle, job["id"])
    names = [name for _, name, _ in events]
    assert names[0] == "queued" and names[-1] == "succeeded"
    started = names.index("started")
    nodes = [data["node"] for _, name, data in events if name == "node"]
    assert nodes == ["1", "2", "3", "4"]  # EmptyImage, Steps, Invert, Save
    node_at = {data["node"]: i for i, (_, name, data) in enumerate(events) if name == "node"}
    progress = [(i, data) for i, (_, name, data) in enumerate(events) if name == "progress"]
    assert progress and all(node_at["2"] < i < node_at["3"] and data["node"] == "2" for i, data in progress)
    values = [data["value"] for _, data in progress]
    assert values == sorted(values) and values[-1] == 4 and {data["max"] for _, data in progress} == {4}
    outputs = [(i, data) for i, (_, name, data) in enumerate(events) if name == "output"]
    assert len(outputs) == 1 and node_at["4"] < outputs[0][0] < len(events) - 1
    assert outputs[0][1]["name"] == "out" and outputs[0][1]["files"][0]["type"] == "output"
    assert started < node_at["1"]
    assert [seq for seq, _, _ in events] == sorted(seq for seq, _, _ in events)
    final = events[-1][2]
    assert final["id"] == job["id"] and final["status"] == "succeeded" and final["finished_at"] is not None
    assert events[node_at["2"]][2] == {"node": "2", "title": "Steps $steps", "class_type": "ConnectTestSteps"}


def test_a_late_or_resumed_stream_replays_what_it_missed(idle: Client) -> None:
    job = idle.start("steps", {"canvas": {"color": 0x203041}, "steps": {"steps": 3, "seconds": 0.05}})
    idle.finished(job["id"])
    late = stream(idle, job["id"])  # opened after the end: everything, then the final state
    names = [name for _, name, _ in late]
    assert names[0] == "queued" and names[-1] == "succeeded" and names.count("node") == 4
    assert names.count("progress") == 1  # a replay keeps the latest step of a node
    invert = next(seq for seq, name, data in late if name == "node" and data["node"] == "3")
    resumed = stream(idle, job["id"], {"Last-Event-ID": str(invert)})
    assert [seq for seq, _, _ in resumed] == [seq for seq, _, _ in late if seq > invert]


def test_a_queued_job_streams_its_position_as_the_queue_moves(idle: Client) -> None:
    first = idle.start("slow", {"slow": {"seconds": 1.5}, "canvas": {"color": 41}})
    idle.running(first["id"])
    second = idle.start("slow", {"slow": {"seconds": 1}, "canvas": {"color": 42}})
    third = idle.start("slow", {"slow": {"seconds": 0.1}, "canvas": {"color": 43}})
    events = stream(idle, third["id"])
    positions = [data["position"] for _, name, data in events if name in ("queued", "position")]
    assert positions == [2, 1], events
    assert [name for _, name, _ in events][len(positions)] == "started"
    assert idle.finished(second["id"])["status"] == "succeeded"


def test_events_of_an_unknown_job_are_404(jobs: Client) -> None:
    response = jobs.http.get(f"{jobs.api_url}/jobs/nope/events", timeout=30)
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
