"""The plugin in cluster mode on the fake engine and a real redis-server: the listing, /ready, the key it
needs; and a single machine that never loads redis-py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from support.inproc import Plugin, canvas, run
from support.redis_server import RedisServer

from connect.cluster.node import Cluster

ADMIN, RUNNER = "admin-key-0123456789", "runner-key-0123456789"


async def listing(plugin: Plugin, key: str = ADMIN) -> dict[str, object]:
    response = await plugin.client.get("/api/connect/cluster", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200, await response.text()
    return dict(await response.json())


def test_an_instance_lists_itself_with_its_heartbeat_and_needs_an_admin_key(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        cluster = plugin.connect.cluster
        assert isinstance(cluster, Cluster)
        try:
            for _ in range(400):  # the first heartbeat: within 20 s (it comes in ~0.2 s)
                if (answer := await listing(plugin))["instances"]:
                    break
                await asyncio.sleep(0.05)
            assert answer["redis"] == "up" and answer["instance"] == "inproc-1" and answer["role"] == "worker"
            beat = answer["instances"][0]  # type: ignore[index]
            assert beat["id"] == "inproc-1" and beat["gpu"]["name"] == "fake device" and beat["state"] == "idle"
            refused = await plugin.client.get("/api/connect/cluster", headers={"Authorization": f"Bearer {RUNNER}"})
            assert refused.status == 403 and (await refused.json())["error"]["type"] == "forbidden"
            ready = await (await plugin.client.get("/api/connect/ready")).json()
            assert ready["cluster"]["redis"] == "up" and ready["cluster"]["instance"] == "inproc-1"
            admin = {"Authorization": f"Bearer {ADMIN}"}
            saved = await plugin.client.put("/api/connect/workflows/clustered", json={"prompt": canvas()}, headers=admin)
            assert saved.status == 201, await saved.text()  # served as on one machine: the store is the synced one
            assert (await plugin.run("clustered", headers=admin)).status == 200
        finally:
            await cluster.stop()

    with RedisServer(tmp_path / "redis") as redis_server:
        run(
            tmp_path,
            scenario,
            cluster_url=redis_server.url,
            cluster_role="worker",
            instance_id="inproc-1",
            cluster_heartbeat=0.2,
            api_keys=f"{ADMIN} admin, {RUNNER} run",
        )


def test_without_a_cluster_the_listing_says_so_and_lists_this_box(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        response = await plugin.client.get("/api/connect/cluster")
        answer = await response.json()
        assert response.status == 200 and answer["enabled"] is False
        assert [m["id"] for m in answer["instances"]] == [answer["instance"]] and answer["instance"].endswith(":8188")
        assert list(answer["queues"]) == ["local"]
        ready = await (await plugin.client.get("/api/connect/ready")).json()
        assert "cluster" not in ready

    run(tmp_path, scenario)


def test_a_single_machine_never_imports_redis() -> None:
    code = (
        "import sys; import connect.plugin, connect.http.routes, connect.cluster.view;"
        "from connect.plugin import _cluster; from connect.settings import Settings;"
        "assert _cluster(Settings(), None, None, dict) is None;"
        "assert not [m for m in sys.modules if m == 'redis' or m.startswith('redis.')], 'redis was imported'"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
