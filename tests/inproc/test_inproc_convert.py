"""POST /api/connect/convert and PUT of a UI-format workflow, on the fake engine (beside the e2e and browser tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.inproc import Plugin, b64_pixel, run
from support.uiformat import UIGraph


def annotated_canvas(color: int = 0x336699) -> dict[str, Any]:
    """EmptyImage -> SaveImage as Ctrl+S saves it, annotated in its titles, with a note beside."""
    ui = UIGraph()
    canvas = ui.node(1, "EmptyImage", [8, 8, 1, color], outputs=["IMAGE"], title="Canvas $canvas(color)")
    save = ui.node(2, "SaveImage", ["connect"], inputs=[("images", "IMAGE")], title="Save #out")
    ui.node(3, "Note", ["how to use this"])
    ui.link(canvas, 0, save, 0)
    return ui.saved()


def test_convert_answers_the_prompt(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        response = await plugin.client.post("/api/connect/convert", json=annotated_canvas())
        assert response.status == 200, await response.text()
        assert await response.json() == {
            "prompt": {
                "1": {
                    "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0x336699},
                    "class_type": "EmptyImage",
                    "_meta": {"title": "Canvas $canvas(color)"},
                },
                "2": {
                    "inputs": {"filename_prefix": "connect", "images": ["1", 0]},
                    "class_type": "SaveImage",
                    "_meta": {"title": "Save #out"},
                },
            }
        }

    run(tmp_path, scenario)


def test_convert_refuses_an_unknown_class_naming_the_node(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        workflow = annotated_canvas()
        workflow["nodes"][1]["type"] = "NotInstalled"
        response = await plugin.client.post("/api/connect/convert", json=workflow)
        assert response.status == 422
        error = (await response.json())["error"]
        assert error["type"] == "unconvertible_workflow"
        assert error["details"] == {"node": "2", "title": "Save #out", "reason": "no node class 'NotInstalled' is installed in ComfyUI"}

    run(tmp_path, scenario)


def test_a_ui_workflow_saved_without_a_prompt_is_converted_kept_and_runs(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        workflow = annotated_canvas()
        saved = await plugin.client.put("/api/connect/workflows/ui-canvas", json={"workflow": workflow})
        assert saved.status == 201, await saved.text()
        assert (await saved.json())["inputs"]["canvas"]["inputs"] == {"color": 0x336699}
        assert plugin.connect.store.load("ui-canvas").workflow == workflow  # the UI source is kept
        response = await plugin.run("ui-canvas", {"canvas": {"color": 0x102030}})
        assert response.status == 200, await response.text()
        assert [b64_pixel(item) for item in (await response.json())["out"]] == [(0x10, 0x20, 0x30)]

    run(tmp_path, scenario)


def test_with_both_the_prompt_is_used(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        prompt = (await (await plugin.client.post("/api/connect/convert", json=annotated_canvas(0x010203))).json())["prompt"]
        body = {"workflow": annotated_canvas(0xFFFFFF), "prompt": prompt}
        saved = await plugin.client.put("/api/connect/workflows/both", json=body)
        assert saved.status == 201, await saved.text()
        assert (await saved.json())["inputs"]["canvas"]["inputs"] == {"color": 0x010203}

    run(tmp_path, scenario)


def test_a_body_with_neither_is_a_clear_400(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        response = await plugin.client.put("/api/connect/workflows/empty", json={"timeout": 5})
        assert response.status == 400
        assert "'workflow'" in (await response.json())["error"]["message"]

    run(tmp_path, scenario)
