"""Two real ComfyUI processes with the plugin (and the test node pack) on one real redis-server, with an
admin key: the cluster the statistics suites (tests/cluster/test_stats_e2e.py, the dashboard in
tests/frontend) run jobs on and read.

    with two_boxes(tmp_path) as boxes:
        boxes.a.run_ok("stats/quick")           # box-a (role both), box-b (role worker)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import Client
from .redis_server import RedisServer
from .server import prepare, serve
from .suites import SETTINGS
from .workflows import node

ADMIN = "stats-admin-key-0123456789"
HEARTBEAT = 0.5  # seconds


@dataclass
class Boxes:
    redis: RedisServer
    a: Client
    b: Client


def env(redis: RedisServer, instance: str, role: str) -> dict[str, str]:
    return {
        **SETTINGS,
        "CONNECT_CLUSTER_URL": redis.url,
        "CONNECT_CLUSTER_ROLE": role,
        "CONNECT_INSTANCE_ID": instance,
        "CONNECT_CLUSTER_HEARTBEAT": str(HEARTBEAT),
        "CONNECT_API_KEYS": f"{ADMIN} admin",
    }


@contextmanager
def two_boxes(root: Path) -> Iterator[Boxes]:
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(root / "redis"))
        a = stack.enter_context(serve(prepare(root / "a", test_nodes=True), env(redis, "box-a", "both"), key=ADMIN))
        b = stack.enter_context(serve(prepare(root / "b", test_nodes=True), env(redis, "box-b", "worker"), key=ADMIN))
        yield Boxes(redis, a, b)


def slow(seconds: float) -> dict[str, Any]:
    """EmptyImage -> ConnectTestSlow (a run of `seconds`, or as the call says) -> SaveImage #out."""
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestSlow", "Slow $slow", image=["1", 0], seconds=seconds),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="stats"),
    }


def failing() -> dict[str, Any]:
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestRaise", "Boom", image=["1", 0], message="out of paint"),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="stats"),
    }


def listing(client: Client) -> dict[str, Any]:
    response = client.call("GET", "/api/connect/cluster")
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in answer["instances"]}
