"""Readiness in the cluster against real ComfyUIs (issue 15): an `api` box and two workers, of which only
one has the model file an endpoint names. Models are not copied: runs land on the worker that has it and
never on the other, and a run that no worker can serve is refused by the api box with 409."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from support.client import Client, wait_until
from support.errors import assert_error
from support.redis_server import RedisServer
from support.server import MODEL_A, prepare, serve
from support.suites import SETTINGS
from support.workflows import link, node

pytestmark = pytest.mark.e2e
ABSENT = "nowhere-in-the-cluster.safetensors"


@dataclass
class Trio:
    api: Client
    has_model: Client
    lacks_model: Client


def env(redis: RedisServer, instance: str, role: str) -> dict[str, str]:
    return {
        **SETTINGS,
        "CONNECT_CLUSTER_URL": redis.url,
        "CONNECT_CLUSTER_ROLE": role,
        "CONNECT_INSTANCE_ID": instance,
        "CONNECT_CLUSTER_HEARTBEAT": "0.5",
    }


def upscale(model: str) -> dict[str, Any]:
    return {
        "1": node("EmptyImage", "", width=8, height=8, batch_size=1, color=0xFF0000),
        "2": node("UpscaleModelLoader", "Upscaler", model_name=model),
        "3": node("ImageUpscaleWithModel", "", upscale_model=link("2"), image=link("1")),
        "4": node("SaveImage", "Save #out", images=link("3"), filename_prefix="cready"),
    }


def unready(client: Client, instance: str) -> dict[str, Any]:
    """What `instance`'s heartbeat says it cannot run, as any box lists it."""
    listing = client.call("GET", "/api/connect/cluster").json()
    found = [m for m in listing["instances"] if m["id"] == instance]
    return dict(found[0].get("unready") or {}) if found else {"listed": False}


def reported(client: Client, instance: str, name: str) -> Callable[[], bool]:
    return lambda: name in unready(client, instance)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    root = tmp_path_factory.mktemp("cready")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(root / "redis"))
        api = stack.enter_context(serve(prepare(root / "api"), env(redis, "box-api", "api")))
        has = stack.enter_context(serve(prepare(root / "a", models=True), env(redis, "box-a", "worker")))
        lacks = stack.enter_context(serve(prepare(root / "b"), env(redis, "box-b", "worker")))
        api.saved("up", upscale(MODEL_A))
        api.saved("absent", upscale(ABSENT))
        for name, box in (("absent", "box-a"), ("up", "box-b"), ("absent", "box-b")):
            wait_until(reported(api, box, name), 20, f"{box} reports {name} not ready")
        assert "up" not in unready(api, "box-a")
        yield Trio(api, has, lacks)


def test_runs_land_on_the_worker_that_has_the_model_and_never_on_the_other(trio: Trio) -> None:
    # The api box lacks the model too: it does not refuse because of its own box.
    assert trio.api.describe("up").json()["ready"] is False
    jobs = [trio.api.start("up") for _ in range(4)]  # queued at once: the idle box-b reads some of them first
    for job in jobs:
        done = trio.api.finished(job["id"], timeout=120)
        assert done["status"] == "succeeded", done
        assert done["instance"] == "box-a" and done["attempts"] == 1  # handing back burns no attempt
    response = trio.api.run("up")
    assert response.status_code == 200, response.text
    assert response.headers["X-Connect-Instance"] == "box-a"
    assert trio.lacks_model.history_size() == 0  # nothing ever reached box-b's ComfyUI


def test_a_run_no_worker_can_serve_is_refused_by_the_api_box(trio: Trio) -> None:
    refused = trio.api.run("absent")
    error = assert_error(refused, 409, "endpoint_not_ready", ABSENT)
    assert error["details"]["workers"] == ["box-a", "box-b"]
    assert [(m["kind"], m["node_id"], m["value"]) for m in error["details"]["missing"]] == [("model_file", "2", ABSENT)]
    assert_error(trio.has_model.run("absent"), 409, "endpoint_not_ready", ABSENT)  # the same from any box
