"""The plugin's routes on the fake engine: save, describe, list, run, delete, docs."""

from __future__ import annotations

import json
from pathlib import Path

from support.inproc import Plugin, b64_pixel, canvas, run
from support.workflows import link, node


def test_save_describe_list_run_delete(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        client = plugin.client
        created = await client.put("/api/connect/workflows/team/canvas", json={"prompt": canvas()})
        assert created.status == 201, await created.text()
        again = await client.put("/api/connect/workflows/team/canvas", json={"prompt": canvas(color=1)})
        assert again.status == 200
        described = await (await client.get("/api/connect/workflows/team/canvas")).json()
        assert "canvas" in str(described["inputs"]) and "out" in str(described["outputs"])
        listed = await (await client.get("/api/connect/workflows")).json()
        assert "team/canvas" in str(listed)
        response = await plugin.run("team/canvas", {"canvas": {"color": 0x102030}})
        assert response.status == 200, await response.text()
        assert [b64_pixel(item) for item in (await response.json())["out"]] == [(0x10, 0x20, 0x30)]
        assert (await client.delete("/api/connect/workflows/team/canvas")).status in (200, 204)
        gone = await client.get("/api/connect/workflows/team/canvas")
        assert gone.status == 404 and (await gone.json())["error"]["type"] == "not_found"

    run(tmp_path, scenario)


def test_docs_and_the_document_cover_a_saved_workflow(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("docs-canvas", canvas())
        page = await plugin.client.get("/api/connect")
        assert page.status == 200 and page.content_type == "text/html"
        document = await (await plugin.client.get("/api/connect/openapi.json")).json()
        assert "/api/connect/workflows/docs-canvas" in document["paths"]
        run_call = document["paths"]["/api/connect/workflows/docs-canvas"]["post"]
        # The input's schema comes from the engine's node definition (EmptyImage's color: 0..0xFFFFFF).
        assert '"maximum": 16777215' in json.dumps(run_call), run_call

    run(tmp_path, scenario)


def test_a_body_over_a_node_limit_is_refused_before_the_engine_sees_it(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("limits", canvas())
        response = await plugin.run("limits", {"canvas": {"color": 0x1000000}})
        assert response.status in (400, 422) and "canvas.color" in await response.text()
        assert plugin.engine.history == {}

    run(tmp_path, scenario)


def test_a_node_that_raises_fails_the_call_with_its_node(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        prompt = {
            **canvas(),
            "3": node("ConnectTestRaise", "Boom", image=link("1"), message="out of paint"),
            "2": node("SaveImage", "Save #out", images=link("3"), filename_prefix="t"),
        }
        await plugin.save("raises", prompt)
        response = await plugin.run("raises")
        error = (await response.json())["error"]
        assert response.status == 500 and error["type"] == "execution_failed", error
        assert error["details"]["node_id"] == "3" and "out of paint" in error["message"]

    run(tmp_path, scenario)


def test_a_dead_worker_answers_503(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("dead", canvas())
        plugin.engine.alive = False
        plugin.engine.pause()  # the prompt never ends: only the worker check can answer
        response = await plugin.run("dead")
        assert response.status == 503 and (await response.json())["error"]["type"] == "unavailable"

    run(tmp_path, scenario)


def test_the_engines_validation_errors_come_back_under_the_workflows_names(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        # Everything it names is installed (so it is ready), but a saved value is out of ComfyUI's range.
        prompt = {
            "1": node("EmptyImage", "Picture", width=0, height=4, batch_size=1, color=0),
            "2": node("SaveImage", "Save #out", images=link("1"), filename_prefix="t"),
        }
        await plugin.save("bad-width", prompt)
        response = await plugin.run("bad-width")
        error = (await response.json())["error"]
        assert response.status == 422 and error["type"] == "prompt_invalid", error
        (problem,) = error["details"]["problems"]
        assert problem["node_id"] == "1" and problem["type"] == "value_smaller_than_min" and "'Picture'" in problem["path"]

    run(tmp_path, scenario)


def test_admission_refuses_a_clients_run_over_its_limit_until_one_ends(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        first = await plugin.run("canvas", params={"async": "1"})
        assert first.status == 202
        refused = await plugin.run("canvas", params={"async": "1"})
        assert refused.status == 429 and refused.headers["Retry-After"].isdigit()
        plugin.engine.resume()
        await plugin.finished(first.headers["X-Connect-Job-Id"])
        assert (await plugin.run("canvas")).status == 200  # the slot came back when the job ended

    run(tmp_path, scenario, max_queue_per_client=1)
