"""workflow/convert.py: UI format -> API format, as the frontend's graphToPrompt (the browser test
tests/frontend/test_convert_templates.py holds it to the real page over every shipped template)."""

from __future__ import annotations

from typing import Any

import pytest
from support.uiformat import UIGraph

from connect.errors import ConvertError
from connect.workflow.convert import convert

OLD, NEW = (1, 32, 9), (1, 58, 1)
_INT = {"default": 0, "min": 0, "max": 100}
# Definitions as ComfyUI serves them at /object_info (trimmed); "Pack.Blur" stands for a custom node.
INFO: dict[str, dict[str, Any]] = {
    "EmptyImage": {
        "input": {"required": {"width": ["INT", _INT], "height": ["INT", _INT], "batch_size": ["INT", _INT], "color": ["INT", _INT]}},
        "output": ["IMAGE"],
        "display_name": "EmptyImage",
    },
    "ImageInvert": {"input": {"required": {"image": ["IMAGE", {}]}}, "output": ["IMAGE"], "display_name": "Invert Image"},
    "Sampler": {
        "input": {
            "required": {
                "image": ["IMAGE", {}],
                "seed": ["INT", {**_INT, "control_after_generate": True}],
                "steps": ["INT", {**_INT, "default": 20}],
                "mode": [["fast", "slow"], {}],
            },
            "optional": {"strength": ["FLOAT", {"default": 1.0}]},
        },
        "input_order": {"required": ["image", "seed", "steps", "mode"], "optional": ["strength"]},
        "output": ["IMAGE"],
    },
    "LoadImage": {"input": {"required": {"image": [["a.png", "b.png"], {"image_upload": True}]}}, "output": ["IMAGE", "MASK"]},
    "Pack.Blur": {"input": {"required": {"mask": ["MASK", {}], "image": ["IMAGE", {}], "radius": ["INT", _INT]}}, "output": ["IMAGE"]},
    "SaveImage": {"input": {"required": {"images": ["IMAGE", {}], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}}, "output": []},
}


def prompt_of(workflow: dict[str, Any], frontend: tuple[int, ...] = OLD, names: dict[str, str] | None = None) -> dict[str, Any]:
    return convert(workflow, INFO.get, frontend, names)


def chain() -> tuple[UIGraph, dict[str, Any], dict[str, Any], dict[str, Any]]:
    ui = UIGraph()
    canvas = ui.node(1, "EmptyImage", [16, 8, 1, 255], outputs=["IMAGE"], title="Canvas $canvas(width)")
    invert = ui.node(2, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    save = ui.node(3, "SaveImage", ["out"], inputs=[("images", "IMAGE")], title="Save #output")
    ui.link(canvas, 0, invert, 0)
    ui.link(invert, 0, save, 0)
    return ui, canvas, invert, save


def test_a_chain_becomes_widget_values_by_name_links_and_titles() -> None:
    ui, *_ = chain()
    canvas = {"width": 16, "height": 8, "batch_size": 1, "color": 255}
    assert prompt_of(ui.saved()) == {
        "1": {"inputs": canvas, "class_type": "EmptyImage", "_meta": {"title": "Canvas $canvas(width)"}},
        "2": {"inputs": {"image": ["1", 0]}, "class_type": "ImageInvert", "_meta": {"title": "Invert Image"}},
        "3": {"inputs": {"filename_prefix": "out", "images": ["2", 0]}, "class_type": "SaveImage", "_meta": {"title": "Save #output"}},
    }


def test_object_links_convert_like_array_links() -> None:
    ui, *_ = chain()
    assert prompt_of(ui.saved(object_links=True)) == prompt_of(ui.saved())


def test_control_after_generate_and_upload_hold_a_place_but_are_not_sent() -> None:
    ui = UIGraph()
    load = ui.node(1, "LoadImage", ["b.png", "image"], outputs=["IMAGE", "MASK"])
    sampler = ui.node(2, "Sampler", [42, "randomize", 7, "slow", 0.5], inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    ui.link(load, 0, sampler, 0)
    prompt = prompt_of(ui.saved())
    assert prompt["1"]["inputs"] == {"image": "b.png"}
    assert prompt["2"]["inputs"] == {"seed": 42, "steps": 7, "mode": "slow", "strength": 0.5, "image": ["1", 0]}


def test_missing_values_take_the_definitions_defaults() -> None:
    ui = UIGraph()
    ui.node(1, "Sampler", [5], inputs=[("image", "IMAGE")])
    assert prompt_of(ui.saved())["1"]["inputs"] == {"seed": 5, "steps": 20, "mode": "fast", "strength": 1.0}


def test_a_widget_turned_input_takes_its_link_and_a_primitive_node_its_value() -> None:
    ui = UIGraph()
    primitive = ui.node(1, "PrimitiveNode", [77, "fixed"], outputs=["INT"], title="Seed")
    sampler = ui.node(2, "Sampler", [1, "fixed", 3, "fast"], inputs=[("image", "IMAGE"), ("seed", "INT", "seed")])
    ui.link(primitive, 0, sampler, 1)
    prompt = prompt_of(ui.saved())
    assert list(prompt) == ["2"]  # the PrimitiveNode lives only in the page
    assert prompt["2"]["inputs"]["seed"] == 77


def test_reroutes_and_notes_are_not_sent_and_links_pass_through_reroutes() -> None:
    ui, canvas, invert, _ = chain()
    reroute = ui.node(4, "Reroute", inputs=[("", "*")], outputs=["*"])
    ui.node(5, "Note", ["remember"])
    ui.node(6, "MarkdownNote", ["# docs"])
    ui.link(canvas, 0, reroute, 0)
    ui.link(reroute, 0, invert, 0)
    prompt = prompt_of(ui.saved())
    assert set(prompt) == {"1", "2", "3"}
    assert prompt["2"]["inputs"]["image"] == ["1", 0]


def test_a_bypassed_node_passes_its_input_of_the_matching_type() -> None:
    ui = UIGraph()
    load = ui.node(1, "LoadImage", ["a.png", "image"], outputs=["IMAGE", "MASK"])
    blur = ui.node(2, "Pack.Blur", [3], inputs=[("mask", "MASK"), ("image", "IMAGE")], outputs=["IMAGE"], mode=4)
    save = ui.node(3, "SaveImage", ["out"], inputs=[("images", "IMAGE")])
    ui.link(load, 1, blur, 0)
    ui.link(load, 0, blur, 1)
    ui.link(blur, 0, save, 0)
    prompt = prompt_of(ui.saved())
    assert set(prompt) == {"1", "3"}
    assert prompt["3"]["inputs"]["images"] == ["1", 0]  # the IMAGE input, not the MASK at the same index


def test_a_muted_node_is_left_out_with_the_inputs_linked_to_it() -> None:
    ui, _, invert, _ = chain()
    invert["mode"] = 2
    prompt = prompt_of(ui.saved())
    assert set(prompt) == {"1", "3"}
    assert prompt["3"]["inputs"] == {"filename_prefix": "out"}


def nested() -> dict[str, Any]:
    """Root: canvas -> [outer: (inner: invert) -> invert] -> save; the outer instance promotes `color`."""
    inner = UIGraph("inner-sg")
    inner.subgraph_input("image", "IMAGE")
    inner.subgraph_output("image", "IMAGE")
    invert = inner.node(5, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    inner.link(-10, 0, invert, 0)
    inner.link(invert, 0, -20, 0)

    outer = UIGraph("outer-sg")
    outer.subgraph_input("image", "IMAGE")
    outer.subgraph_input("color", "INT")
    outer.subgraph_output("image", "IMAGE")
    instance = outer.node(7, "inner-sg", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    invert2 = outer.node(8, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    canvas2 = outer.node(9, "EmptyImage", [4, 4, 1, 0], inputs=[("color", "INT", "color")], outputs=["IMAGE"])
    outer.link(-10, 0, instance, 0)
    outer.link(instance, 0, invert2, 0)
    outer.link(invert2, 0, -20, 0)
    outer.link(-10, 1, canvas2, 0)

    root = UIGraph()
    canvas = root.node(1, "EmptyImage", [16, 16, 1, 0], outputs=["IMAGE"])
    sub = root.node(12, "outer-sg", [0xABCDEF], inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    save = root.node(3, "SaveImage", ["out"], inputs=[("images", "IMAGE")])
    root.link(canvas, 0, sub, 0)
    root.link(sub, 0, save, 0)
    return root.saved(inner, outer)


def test_nested_subgraphs_flatten_to_path_ids_with_links_across_their_edges() -> None:
    prompt = prompt_of(nested())
    assert set(prompt) == {"1", "3", "12:7:5", "12:8", "12:9"}
    assert prompt["12:7:5"]["inputs"] == {"image": ["1", 0]}  # in through two subgraph inputs
    assert prompt["12:8"]["inputs"] == {"image": ["12:7:5", 0]}
    assert prompt["3"]["inputs"]["images"] == ["12:8", 0]  # out through the outer subgraph's output
    assert prompt["12:9"]["inputs"]["color"] == 0xABCDEF  # the instance's promoted widget value


def test_newer_frontends_renumber_subgraph_nodes_whose_ids_are_taken_and_add_the_node_pack() -> None:
    workflow = nested()
    workflow["definitions"]["subgraphs"][1]["nodes"][0]["id"] = 1  # outer's 7 now clashes with root's 1
    for link in workflow["definitions"]["subgraphs"][1]["links"]:
        link["origin_id"] = 1 if link["origin_id"] == 7 else link["origin_id"]
        link["target_id"] = 1 if link["target_id"] == 7 else link["target_id"]
    workflow["nodes"][0]["properties"] = {"cnr_id": "comfy-core", "ver": "v0.3.75", "aux_id": "not valid"}
    assert "12:1:5" in prompt_of(workflow, OLD)
    newer = prompt_of(workflow, NEW)
    assert "12:13:5" in newer  # the next id after the highest in use
    assert newer["1"]["_meta"] == {"title": "EmptyImage", "cnr_id": "comfy-core", "ver": "0.3.75"}


def test_an_untitled_node_takes_the_frontends_name_for_its_class() -> None:
    ui, *_ = chain()
    names = {"ImageInvert": "Invert Colors"}
    assert prompt_of(ui.saved(), OLD, names)["2"]["_meta"]["title"] == "Invert Colors"
    assert prompt_of(ui.saved(), NEW, names)["2"]["_meta"]["title"] == "Invert Image"  # ComfyUI's own name first


@pytest.mark.parametrize(
    ("break_it", "node", "reason"),
    [
        pytest.param(lambda w: w["nodes"][1].update(type="Missing.Node"), "2", "no node class 'Missing.Node'", id="unknown-class"),
        pytest.param(lambda w: w["links"].pop(0), "2", "names link 1, which the graph does not have", id="missing-link"),
        pytest.param(lambda w: w["nodes"].pop(0), "2", "linked to node 1, which the graph does not have", id="missing-node"),
    ],
)
def test_what_cannot_be_converted_names_the_node_its_title_and_why(break_it: Any, node: str, reason: str) -> None:
    ui, *_ = chain()
    workflow = ui.saved()
    break_it(workflow)
    with pytest.raises(ConvertError) as raised:
        prompt_of(workflow)
    assert raised.value.status == 422
    assert raised.value.details["node"] == node and reason in raised.value.details["reason"]
    assert "title" in raised.value.details and node in raised.value.message


def test_a_workflow_that_is_not_the_ui_format_is_refused() -> None:
    with pytest.raises(ConvertError) as raised:
        prompt_of({"1": {"class_type": "EmptyImage", "inputs": {}}})
    assert raised.value.details == {"path": "nodes"}


def test_newer_frontends_send_nothing_of_a_muted_subgraph_node_and_promoted_values_fall_back_to_the_inner_widget() -> None:
    workflow = nested()
    workflow["nodes"][1]["widgets_values"] = []  # newer files keep promoted values in the inner nodes
    assert prompt_of(workflow, NEW)["12:9"]["inputs"]["color"] == 0  # EmptyImage 9's own saved color
    workflow["nodes"][1]["mode"] = 2
    assert {"12:7:5", "12:8", "12:9"} <= set(prompt_of(workflow, OLD))
    assert set(prompt_of(workflow, NEW)) == {"1", "3"}


def test_links_that_are_not_a_list_are_refused_naming_the_path() -> None:
    ui, *_ = chain()
    workflow = {**ui.saved(), "links": {}}
    with pytest.raises(ConvertError) as raised:
        prompt_of(workflow)
    assert raised.value.details == {"path": "links"}
