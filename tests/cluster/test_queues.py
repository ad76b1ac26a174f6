"""cluster/queues.py: queue figures as JSON, from heartbeats, and added up per workflow."""

from __future__ import annotations

from typing import Any

from connect.cluster.queues import QueueStats, WorkflowQueue, by_workflow, member_queues


def test_a_queue_round_trips_through_its_json() -> None:
    queue = QueueStats(3, 12.3456, 1, 2, {"w": WorkflowQueue(3, 12.3456)})
    shown = queue.as_json()
    assert shown == {
        "depth": 3,
        "oldest_age": 12.346,
        "pending": 1,
        "dead_lettered": 2,
        "workflows": {"w": {"depth": 3, "oldest_age": 12.346}},
    }
    assert QueueStats.from_json(shown) == QueueStats(3, 12.346, 1, 2, {"w": WorkflowQueue(3, 12.346)})


def test_phase_one_lists_each_instances_own_queue_and_adds_them_up_per_workflow() -> None:
    members: list[dict[str, Any]] = [
        {"id": "a", "queue": QueueStats(2, 9.0, 1, 0, {"w": WorkflowQueue(2, 9.0)}).as_json()},
        {"id": "b", "queue": QueueStats(1, 4.0, 0, 0, {"w": WorkflowQueue(1, 4.0)}).as_json()},
        {"id": "old-version-without-queue"},
    ]
    queues = member_queues(members)
    assert list(queues) == ["local:a", "local:b"]
    assert by_workflow(queues.values()) == {"w": WorkflowQueue(3, 9.0)}
