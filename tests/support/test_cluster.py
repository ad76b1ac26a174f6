"""The fleet harness itself (support/cluster.py), on what the cluster already does without distributed
jobs (membership by heartbeat): a killed or frozen box leaves the listing, a restarted or resumed one is
back under its own id, and Redis restarted with AOF keeps what it held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from .cluster import Fleet, fleet_fixture
from .workflows import canvas

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    yield from fleet_fixture(tmp_path_factory.mktemp("fleet"), {"one": "both", "two": "both"})


def test_a_killed_box_leaves_and_a_restarted_one_comes_back(fleet: Fleet) -> None:
    two = fleet.box("two")
    port = two.server.port
    two.kill()
    assert not two.alive
    fleet.wait_members({"one"})
    two.restart()
    assert two.server.port == port
    fleet.wait_members({"one", "two"})
    fleet.saved("after-restart", canvas())  # saved on one, synced to two
    assert two.client.run_ok("after-restart")["out"][0].size == (8, 8)


def test_a_paused_box_is_silent_until_it_is_resumed(fleet: Fleet) -> None:
    two = fleet.box("two")
    two.pause()
    try:
        fleet.wait_members({"one"})  # waits on the boxes that are not paused
    finally:
        two.resume()
    fleet.wait_members({"one", "two"})
    fleet.saved("after-pause", canvas(width=10))
    assert two.client.run_ok("after-pause")["out"][0].size == (10, 8)


def test_heal_restarts_what_was_killed_and_redis_keeps_its_data_across_a_restart(fleet: Fleet) -> None:
    fleet.boxes[0].kill()
    with redis.Redis.from_url(fleet.redis.url) as link:
        link.set("fleet-kit", "kept")
    fleet.redis.stop()
    assert not fleet.redis.running
    fleet.heal()
    assert fleet.redis.running and all(box.alive for box in fleet.boxes)
    with redis.Redis.from_url(fleet.redis.url) as link:
        assert link.get("fleet-kit") == b"kept"  # AOF on: a restart is not a wipe
