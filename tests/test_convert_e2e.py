"""The UI format on a real ComfyUI: converted by POST /api/connect/convert, saved by PUT without a prompt, run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.client import Client
from support.errors import assert_error
from support.images import assert_color, inverted, rgb_of
from support.uiformat import UIGraph

pytestmark = pytest.mark.e2e


def annotated(color: int) -> dict[str, Any]:
    """EmptyImage -> [subgraph: ImageInvert] -> ImageInvert (bypassed) -> SaveImage, as Ctrl+S saves it.

    Titles carry the endpoint's annotations; a PrimitiveNode feeds the canvas height, a Note sits beside.
    """
    inner = UIGraph("invert-sg")
    inner.subgraph_input("image", "IMAGE")
    inner.subgraph_output("image", "IMAGE")
    invert = inner.node(5, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"], title="Invert $invert()")
    inner.link(-10, 0, invert, 0)
    inner.link(invert, 0, -20, 0)

    ui = UIGraph()
    canvas = ui.node(
        1, "EmptyImage", [8, 4, 1, color], inputs=[("height", "INT", "height")], outputs=["IMAGE"], title="Canvas $canvas(width,color)"
    )
    height = ui.node(2, "PrimitiveNode", [6, "fixed"], outputs=["INT"], title="Height")
    sub = ui.node(12, "invert-sg", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    skipped = ui.node(4, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"], mode=4)
    save = ui.node(3, "SaveImage", ["connect-ui"], inputs=[("images", "IMAGE")], title="Save #output")
    ui.node(6, "Note", ["A note for people; not sent to ComfyUI"])
    ui.link(height, 0, canvas, 0)
    ui.link(canvas, 0, sub, 0)
    ui.link(sub, 0, skipped, 0)
    ui.link(skipped, 0, save, 0)
    return ui.saved(inner)


def test_convert_gives_the_prompt_comfyui_runs(api: Client) -> None:
    response = api.call("POST", "/api/connect/convert", json_body=annotated(0x00FF00))
    assert response.status_code == 200, response.text
    prompt = response.json()["prompt"]
    assert {k: v["class_type"] for k, v in prompt.items()} == {"1": "EmptyImage", "12:5": "ImageInvert", "3": "SaveImage"}
    assert prompt["1"]["inputs"] == {"width": 8, "height": 6, "batch_size": 1, "color": 0x00FF00}
    assert prompt["3"]["inputs"]["images"] == ["12:5", 0]  # around the bypassed invert, out of the subgraph
    assert prompt["12:5"]["_meta"] == {"title": "Invert $invert()"}
    queued = api.call("POST", "/prompt", json_body={"prompt": prompt})
    assert queued.status_code == 200, queued.text  # ComfyUI's own validation takes it


def test_a_saved_ui_workflow_is_an_endpoint_that_runs(api: Client) -> None:
    workflow = annotated(0x00FF00)
    saved = api.call("PUT", "/api/connect/workflows/ui/annotated", json_body={"workflow": workflow})
    assert saved.status_code == 201, saved.text
    described = saved.json()
    assert described["inputs"]["canvas"]["inputs"] == {"width": 8, "color": 0x00FF00}
    assert described["outputs"] == {"output": ["3"]} and "invert" in described["bypassable"]
    assert json.loads((api.store / "ui" / "annotated.json").read_text())["workflow"] == workflow

    images = api.run_ok("ui/annotated", {"canvas": {"width": 5, "color": 0x123456}})["output"]
    assert [image.size for image in images] == [(5, 6)]  # the PrimitiveNode's height
    assert_color(images[0], inverted(rgb_of(0x123456)))  # inverted once: the bypassed node is not run
    kept = api.run_ok("ui/annotated", {"invert": False})["output"]
    assert_color(kept[0], rgb_of(0x00FF00))


def test_what_cannot_be_converted_is_a_422_naming_the_node(api: Client) -> None:
    workflow = annotated(0)
    workflow["nodes"][4]["type"] = "NoSuchNodeClass"
    error = assert_error(api.call("POST", "/api/connect/convert", json_body=workflow), 422, "unconvertible_workflow", "NoSuchNodeClass")
    assert error["details"]["node"] == "3" and error["details"]["title"] == "Save #output"
    refused = api.call("PUT", "/api/connect/workflows/ui/broken", json_body={"workflow": workflow})
    assert_error(refused, 422, "unconvertible_workflow", "NoSuchNodeClass")
    assert_error(api.describe("ui/broken"), 404, "not_found")
