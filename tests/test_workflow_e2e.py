"""Annotations in node titles, end to end: what a saved endpoint exposes, returns and refuses."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.client import Client
from support.errors import assert_error
from support.images import assert_color, png_b64, rgb_of
from support.workflows import Prompt, assert_still_serving, canvas, file_input, link, load_invert, node

pytestmark = pytest.mark.e2e


def test_filter_exposes_only_the_listed_inputs(api: Client) -> None:
    described = api.saved("ann/filter", canvas("Canvas $canvas(width,height)", width=8, height=4, color=0x00FF00))
    assert described["inputs"]["canvas"]["inputs"] == {"width": 8, "height": 4}

    (image,) = api.run_ok("ann/filter", {"canvas": {"width": 5, "height": 3}})["out"]
    assert image.size == (5, 3)
    assert_color(image, (0, 255, 0))

    error = assert_error(api.run("ann/filter", {"canvas": {"color": 255}}), 422, "invalid_payload")
    assert "canvas.color" in error["message"]
    assert "exposed: width, height" in error["message"]
    assert [p["path"] for p in error["details"]["problems"]] == ["canvas.color"]


def test_plain_input_annotation_exposes_every_widget_but_never_a_link(api: Client) -> None:
    described = api.saved("ann/all", load_invert(invert_title="Invert $invert"))
    assert described["inputs"]["load"]["inputs"] == {"image": "example.png"}
    assert described["inputs"]["invert"]["inputs"] == {}  # ImageInvert's only input is a link

    error = assert_error(api.run("ann/all", {"invert": {"image": "example.png"}}), 422, "invalid_payload")
    assert "exposes no inputs" in error["message"]
    assert [p["path"] for p in error["details"]["problems"]] == ["invert"]


def test_empty_filter_exposes_nothing_but_stays_bypassable(api: Client) -> None:
    described = api.saved("ann/empty", load_invert(invert_title="Invert $invert()"))
    assert described["inputs"]["invert"]["inputs"] == {}
    assert "invert" in described["bypassable"]

    error = assert_error(api.run("ann/empty", {"invert": {"image": "x.png"}}), 422, "invalid_payload")
    assert "exposes no inputs" in error["message"]

    red = (200, 10, 10)
    (image,) = api.run_ok("ann/empty", {"load": {"image": file_input(png_b64(red))}, "invert": False})["out"]
    assert_color(image, red)


@pytest.mark.parametrize(
    ("canvas_title", "invert_title", "save_title"),
    [
        pytest.param("Canvas $canvas(color)", "Invert !bypass", "Save $save(filename_prefix) #out", id="plain"),
        pytest.param("Canvas [$canvas(color)]", "Invert [!bypass]", "Save [$save(filename_prefix) #out]", id="bracket"),
        pytest.param("[$canvas( color )] Canvas", "[!bypass] Invert", "[#out] Save [$save(filename_prefix)]", id="bracket-first"),
    ],
)
def test_several_annotations_in_one_title(api: Client, comfy_base: Path, canvas_title: str, invert_title: str, save_title: str) -> None:
    prompt = {
        "1": node("EmptyImage", canvas_title, width=4, height=4, batch_size=1, color=0),
        "2": node("ImageInvert", invert_title, image=link("1")),
        "3": node("SaveImage", save_title, images=link("2"), filename_prefix="e2e"),
    }
    described = api.saved("ann/several", prompt)
    assert described["inputs"] == {
        "canvas": {"nodes": ["1"], "inputs": {"color": 0}},
        "save": {"nodes": ["3"], "inputs": {"filename_prefix": "e2e"}},
    }
    assert described["outputs"] == {"out": ["3"]}
    assert described["bypassed"] == ["2"]

    prefix = f"several-{uuid.uuid4().hex[:8]}"
    (image,) = api.run_ok("ann/several", {"canvas": {"color": 0x123456}, "save": {"filename_prefix": prefix}})["out"]
    assert_color(image, rgb_of(0x123456))  # !bypass removed the ImageInvert
    assert list((comfy_base / "output").glob(f"{prefix}_*.png")), "SaveImage did not get the filename_prefix"


def test_several_input_nodes_receive_the_value_and_several_output_nodes_add_to_one_list(api: Client) -> None:
    prompt = {
        "1": node("EmptyImage", "Small $canvas(color)", width=4, height=4, batch_size=1, color=0),
        "2": node("EmptyImage", "Big $canvas(color)", width=6, height=6, batch_size=1, color=0),
        "3": node("SaveImage", "Save small #out", images=link("1"), filename_prefix="e2e"),
        "4": node("SaveImage", "Save big #out", images=link("2"), filename_prefix="e2e"),
    }
    described = api.saved("ann/many", prompt)
    assert described["inputs"]["canvas"]["nodes"] == ["1", "2"]
    assert described["outputs"] == {"out": ["3", "4"]}

    images = api.run_ok("ann/many", {"canvas": {"color": 0xABCDEF}})["out"]
    assert [image.size for image in images] == [(4, 4), (6, 6)]
    for image in images:
        assert_color(image, rgb_of(0xABCDEF))


@pytest.mark.parametrize(
    ("prompt", "node_id", "title", "problem"),
    [
        pytest.param(
            {"5": node("EmptyImage", "Canvas $canvas(width", width=1)}, "5", "Canvas $canvas(width", "never closed", id="unclosed"
        ),
        pytest.param({"5": node("EmptyImage", "Canvas !nope", width=1)}, "5", "Canvas !nope", "unknown directive", id="unknown-directive"),
        pytest.param(
            {"5": node("EmptyImage", "$canvas(widht)", width=1)}, "5", "$canvas(widht)", "no widget input 'widht'", id="unknown-input"
        ),
        pytest.param(
            {"4": node("EmptyImage", "", width=1), "5": node("ImageInvert", "$inv(image)", image=link("4"))},
            "5",
            "$inv(image)",
            "links are never exposed",
            id="linked-input",
        ),
        pytest.param(
            {"4": node("EmptyImage", "$x", width=1), "5": node("SaveImage", "Save #x", images=link("4"), filename_prefix="e2e")},
            "5",
            "Save #x",
            "both as an input ($) and an output (#)",
            id="input-and-output",
        ),
        pytest.param(
            {"4": node("EmptyImage", "$c(width)", width=1), "5": node("EmptyImage", "$c(height)", height=1)},
            "5",
            "$c(height)",
            "different input filters",
            id="two-filters",
        ),
    ],
)
def test_bad_annotation_is_refused_naming_node_and_title(api: Client, prompt: Prompt, node_id: str, title: str, problem: str) -> None:
    error = assert_error(api.save("ann/bad", prompt), 400, "invalid_annotation")
    assert f"node {node_id}" in error["message"]
    assert repr(title) in error["message"]
    assert problem in error["message"]
    first = error["details"]["problems"][0]
    assert (first["node_id"], first["title"]) == (node_id, title)
    assert_error(api.describe("ann/bad"), 404, "not_found")
    assert_still_serving(api)


def test_every_bad_annotation_is_reported_at_once(api: Client, comfy_base: Path) -> None:
    prompt = {"1": node("EmptyImage", "$a(", width=1), "2": node("EmptyImage", "$b(nope)", width=1)}
    error = assert_error(api.save("ann/bad-many", prompt), 400, "invalid_annotation")
    assert "(and 1 more)" in error["message"]
    assert [(p["node_id"], p["title"]) for p in error["details"]["problems"]] == [("1", "$a("), ("2", "$b(nope)")]
    assert not (api.store / "ann" / "bad-many.json").exists()
