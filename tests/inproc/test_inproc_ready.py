"""Readiness through the real plugin on the fake engine: save, describe, list, run, GET .../ready."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from PIL import Image
from support.inproc import Plugin, b64_pixel, canvas, run
from support.workflows import file_input, link, node

MISSING_PICTURE = {
    "kind": "input_file",
    "node_id": "1",
    "class_type": "LoadImage",
    "title": "Picture $picture",
    "input": "image",
    "value": "missing.png",
}


def picture(image: str = "missing.png") -> dict[str, Any]:
    return {
        "1": node("LoadImage", "Picture $picture", image=image),
        "2": node("ImageInvert", "", image=link("1")),
        "3": node("SaveImage", "Save #out", images=link("2"), filename_prefix="t"),
    }


def png(color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _check(plugin: Plugin, schema: str, body: Any) -> None:
    """`body` is valid against the OpenAPI document's component `schema`."""
    document = plugin.connect.openapi_document()
    root = {**document["components"]["schemas"][schema], "components": document["components"]}
    assert not list(Draft202012Validator(root).iter_errors(body)), body


def test_saved_but_not_ready_and_said_so_everywhere(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        saved = await plugin.client.put("/api/connect/workflows/pic", json={"prompt": picture()})
        assert saved.status == 201  # saving still works: the workflow may be meant for another box
        body = await saved.json()
        assert body["ready"] is False and body["missing"] == [MISSING_PICTURE]
        _check(plugin, "WorkflowDescription", body)
        described = await (await plugin.client.get("/api/connect/workflows/pic")).json()
        assert (described["ready"], described["missing"]) == (False, [MISSING_PICTURE])
        await plugin.save("canvas", canvas())
        listed = {w["name"]: w for w in (await (await plugin.client.get("/api/connect/workflows")).json())["workflows"]}
        assert (listed["pic"]["ready"], listed["canvas"]["ready"], listed["canvas"]["missing"]) == (False, True, [])

    run(tmp_path, scenario)


def test_running_it_is_refused_at_once_naming_what_is_missing(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", picture())
        response = await plugin.run("pic")
        error = (await response.json())["error"]
        assert response.status == 409 and error["type"] == "endpoint_not_ready", error
        assert error["details"] == {"name": "pic", "missing": [MISSING_PICTURE]}
        assert error["message"] == (
            "workflow 'pic' cannot run on this ComfyUI; not installed on this ComfyUI: "
            "input file 'missing.png' (node 1 'Picture $picture', LoadImage.image)"
        )
        _check(plugin, "EndpointNotReady", await response.json())
        assert plugin.engine.history == {}  # nothing reached the engine

    run(tmp_path, scenario)


def test_a_file_the_caller_sends_stands_in_for_the_missing_one(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", picture())
        response = await plugin.run("pic", {"picture": {"image": file_input(png((255, 255, 255)))}})
        assert response.status == 200, await response.text()
        assert b64_pixel((await response.json())["out"][0]) == (0, 0, 0)
        listed = await plugin.run("pic", {"picture": {"image": "example.png"}})  # a file the list offers
        assert listed.status == 200, await listed.text()
        unknown = await plugin.run("pic", {"picture": {"image": "other.png"}})  # the contract's 422, as before
        assert unknown.status == 422 and (await unknown.json())["error"]["type"] == "invalid_payload"

    run(tmp_path, scenario)


def test_the_per_endpoint_ready_route(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", picture())
        await plugin.save("team/canvas", canvas())
        ready = await plugin.client.get("/api/connect/workflows/team/canvas/ready")
        assert ready.status == 200 and await ready.json() == {"name": "team/canvas", "ready": True, "missing": []}
        _check(plugin, "WorkflowReadiness", await ready.json())
        unready = await plugin.client.get("/api/connect/workflows/pic/ready")
        error = (await unready.json())["error"]
        assert unready.status == 503 and error["type"] == "unavailable"
        assert error["details"] == {"name": "pic", "ready": False, "missing": [MISSING_PICTURE]}
        absent = await plugin.client.get("/api/connect/workflows/nope/ready")
        assert absent.status == 404 and (await absent.json())["error"]["details"] == {"name": "nope"}
        counts = await (await plugin.client.get("/api/connect/ready")).json()
        assert counts["status"] == "ready" and counts["endpoints"] == {"ready": 1, "not_ready": 1}  # counts only: no key needed
        plugin.engine.alive = False  # the instance itself is not ready: neither is any endpoint
        dead = await plugin.client.get("/api/connect/workflows/team/canvas/ready")
        assert dead.status == 503 and "worker" in (await dead.json())["error"]["message"]

    run(tmp_path, scenario)


def test_ready_is_a_reserved_last_name_part_but_a_stored_one_is_still_described(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        refused = await plugin.client.put("/api/connect/workflows/team/ready", json={"prompt": canvas()})
        assert refused.status == 405 and refused.headers["Allow"] == "GET"
        assert (await refused.json())["error"]["type"] == "method_not_allowed"
        for method in ("POST", "DELETE", "PATCH", "OPTIONS"):
            other = await plugin.client.request(method, "/api/connect/workflows/team/ready")
            assert (other.status, other.headers["Allow"]) == (405, "GET"), method
        # One stored before this route existed (or copied in by hand) is still described.
        plugin.connect.store.save("team/ready", canvas())
        described = await plugin.client.get("/api/connect/workflows/team/ready")
        assert described.status == 200 and (await described.json())["name"] == "team/ready"

    run(tmp_path, scenario)


ADMIN = "admin-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef"


def test_per_endpoint_readiness_needs_a_key_that_sees_the_workflow(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for name, prompt in (("pic", picture()), ("team/canvas", canvas())):
            saved = await plugin.client.put(f"/api/connect/workflows/{name}", json={"prompt": prompt}, headers=admin)
            assert saved.status == 201, await saved.text()
        plugin.connect.store.save("pic/ready", canvas())  # stored before the route: only a key that sees it may describe it
        runner = {"Authorization": f"Bearer {RUNNER}"}
        assert (await plugin.client.get("/api/connect/workflows/pic/ready")).status == 401
        assert (await plugin.client.get("/api/connect/workflows/team/canvas/ready", headers=runner)).status == 403
        unready = await plugin.client.get("/api/connect/workflows/pic/ready", headers=runner)
        assert unready.status == 503 and (await unready.json())["error"]["details"]["name"] == "pic"
        described = await plugin.client.get("/api/connect/workflows/pic/ready", headers=admin)
        assert described.status == 200 and (await described.json())["name"] == "pic/ready"
        counts = await plugin.client.get("/api/connect/ready")  # public: counts, no names
        assert (await counts.json())["endpoints"] == {"ready": 2, "not_ready": 1}

    run(tmp_path, scenario, api_keys=f"{ADMIN} admin, {RUNNER} run pic")
