"""Two (then three) real ComfyUI processes with the plugin on one real redis-server, over HTTP: workflows
saved or deleted on one reach the others, the listing shows who lives, and a Redis outage leaves every
box serving until it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.client import Client, wait_until
from support.redis_server import RedisServer
from support.server import prepare, serve
from support.suites import SETTINGS
from support.workflows import canvas

pytestmark = pytest.mark.e2e
HEARTBEAT = 0.5  # seconds: an instance leaves the listing 4 heartbeats (2 s) after its last


@dataclass
class Cluster:
    redis: RedisServer
    a: Client
    b: Client
    root: Path

    def env(self, instance: str, role: str) -> dict[str, str]:
        return {
            **SETTINGS,
            "CONNECT_CLUSTER_URL": self.redis.url,
            "CONNECT_CLUSTER_ROLE": role,
            "CONNECT_INSTANCE_ID": instance,
            "CONNECT_CLUSTER_HEARTBEAT": str(HEARTBEAT),
        }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(root / "redis"))
        half = Cluster(redis, None, None, root)  # type: ignore[arg-type]
        half.a = stack.enter_context(serve(prepare(root / "a"), half.env("box-a", "api")))
        half.b = stack.enter_context(serve(prepare(root / "b"), half.env("box-b", "worker")))
        yield half


def names(client: Client) -> list[str]:
    return [w["name"] for w in client.listing()["workflows"]]


def members(client: Client) -> dict[str, Any]:
    response = client.call("GET", "/api/connect/cluster")
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(client: Client) -> list[str]:
    return [m["id"] for m in members(client)["instances"]]


def redis_state(client: Client) -> str:
    response = client.call("GET", "/api/connect/ready")
    assert response.status_code == 200, response.text  # a Redis outage does not make a box unready
    return str(response.json()["cluster"]["redis"])


def synced(where: Client, condition: Any, what: str) -> float:
    """Seconds until `condition(where)` held (printed: the sync latency the README promises)."""
    start = time.monotonic()
    wait_until(lambda: condition(where), 15, what)
    took = time.monotonic() - start
    print(f"{what}: {took:.2f} s")
    return took


def test_a_save_on_one_box_is_listed_and_runnable_on_the_other(cluster: Cluster) -> None:
    cluster.a.saved("shared/pic", canvas(width=12))
    synced(cluster.b, lambda c: "shared/pic" in names(c), "save on A listed on B")
    images = cluster.b.run_ok("shared/pic")
    assert images["out"][0].size == (12, 8)
    stored = cluster.a.store / "shared" / "pic.json"
    assert (cluster.b.store / "shared" / "pic.json").read_bytes() == stored.read_bytes()  # same content hash


def test_a_delete_on_one_box_disappears_on_the_other(cluster: Cluster) -> None:
    cluster.a.saved("doomed", canvas())
    synced(cluster.b, lambda c: "doomed" in names(c), "save on A listed on B")
    assert cluster.b.delete("doomed").status_code == 204
    synced(cluster.a, lambda c: "doomed" not in names(c), "delete on B gone on A")
    assert cluster.a.describe("doomed").status_code == 404


def test_both_boxes_are_listed_with_their_role_and_version(cluster: Cluster) -> None:
    wait_until(lambda: ids(cluster.a) == ["box-a", "box-b"], 15, "both instances listed")
    listing = members(cluster.b)
    assert listing["enabled"] is True and listing["redis"] == "up" and listing["instance"] == "box-b"
    by_id = {m["id"]: m for m in listing["instances"]}
    assert by_id["box-a"]["role"] == "api" and by_id["box-b"]["role"] == "worker"
    stats = cluster.b.call("GET", "/system_stats").json()
    assert by_id["box-b"]["comfyui_version"] == stats["system"]["comfyui_version"]
    assert by_id["box-b"]["gpu"]["name"] == stats["devices"][0]["name"]
    assert by_id["box-b"]["gpu"]["vram_total"] > 0
    assert by_id["box-a"]["state"] in ("idle", "busy")


def test_a_late_box_gets_everything_and_leaves_the_listing_when_it_stops(cluster: Cluster) -> None:
    cluster.a.saved("late/one", canvas())
    cluster.b.saved("late/two", canvas(width=16))
    synced(cluster.a, lambda c: {"late/one", "late/two"} <= set(names(c)), "both saves on A")
    with serve(prepare(cluster.root / "c"), cluster.env("box-c", "both")) as c:
        synced(c, lambda c: names(c) == names(cluster.a), "the late box holds every workflow")
        wait_until(lambda: "box-c" in ids(cluster.a), 15, "the late box is listed")
        assert c.run_ok("late/two")["out"][0].size == (16, 8)
    synced(cluster.a, lambda c: "box-c" not in ids(c), "a stopped box leaves the listing")
    assert "box-b" in ids(cluster.a)


def test_without_redis_every_box_serves_and_resyncs_when_it_is_back(cluster: Cluster) -> None:
    cluster.a.saved("outage/before", canvas())
    synced(cluster.b, lambda c: "outage/before" in names(c), "synced before the outage")
    cluster.redis.stop()
    try:
        wait_until(lambda: redis_state(cluster.a) == "down" and redis_state(cluster.b) == "down", 15, "both see Redis down")
        listing = members(cluster.a)
        assert listing["redis"] == "down" and [m["id"] for m in listing["instances"]] == ["box-a"]
        # Runs are jobs of the cluster (issue 15 phase 2): none can be queued without Redis, so 503 says to retry.
        refused = cluster.b.run("outage/before")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "2", refused.text
        assert refused.json()["error"]["type"] == "cluster_unavailable"
        assert cluster.b.describe("outage/before").status_code == 200  # still serving what it has
        cluster.a.saved("outage/during", canvas())  # answered now, pushed when Redis is back
    finally:
        cluster.redis.start()  # an empty Redis (no persistence): the boxes seed it again
    synced(cluster.b, lambda c: "outage/during" in names(c), "a save made during the outage reaches B")
    wait_until(lambda: redis_state(cluster.a) == "up" and redis_state(cluster.b) == "up", 15, "both see Redis up")
    cluster.b.saved("outage/after", canvas())
    synced(cluster.a, lambda c: "outage/after" in names(c), "sync resumed after the restart")
