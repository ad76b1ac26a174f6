"""Bypass, end to end: `false` in a payload and `!bypass` in a title remove a node like ComfyUI's mode 4."""

from __future__ import annotations

from typing import Any

import pytest
from support.client import Client
from support.errors import assert_error
from support.images import assert_color, inverted, png_b64
from support.server import MODEL_A
from support.workflows import Prompt, assert_still_serving, canvas, file_input, link, load_invert, node

pytestmark = pytest.mark.e2e

RED = (220, 20, 60)


def _load(color: tuple[int, int, int] = RED, size: tuple[int, int] = (8, 8)) -> dict[str, Any]:
    return {"load": {"image": file_input(png_b64(color, size))}}


def test_false_bypasses_the_node_for_this_call_only(api: Client) -> None:
    api.saved("bypass/false", load_invert())
    (bypassed,) = api.run_ok("bypass/false", {**_load(), "invert": False})["out"]
    assert_color(bypassed, RED)
    (normal,) = api.run_ok("bypass/false", _load())["out"]
    assert_color(normal, inverted(RED))


def test_bang_bypass_removes_the_node_on_every_call(api: Client) -> None:
    api.saved("bypass/bang", load_invert(invert_title="Invert !bypass"))
    (image,) = api.run_ok("bypass/bang", _load())["out"]
    assert_color(image, RED)


def test_chain_of_bypassed_nodes_is_rewired_to_the_first_source(api: Client) -> None:
    prompt = {
        "1": node("LoadImage", "$load", image="example.png"),
        "2": node("ImageInvert", "!bypass", image=link("1")),
        "3": node("ImageInvert", "$second()", image=link("2")),
        "4": node("ImageInvert", "$third()", image=link("3")),
        "5": node("SaveImage", "#out", images=link("4"), filename_prefix="e2e"),
    }
    api.saved("bypass/chain", prompt)
    (image,) = api.run_ok("bypass/chain", {**_load(), "second": False, "third": False})["out"]
    assert_color(image, RED)
    (image,) = api.run_ok("bypass/chain", {**_load(), "third": False})["out"]
    assert_color(image, inverted(RED))


def _upscale() -> Prompt:
    # ImageUpscaleWithModel's inputs are (upscale_model: UPSCALE_MODEL, image: IMAGE): its IMAGE output
    # must be rewired to its second input, the one of the same type, not to the one at the same index.
    return {
        "1": node("LoadImage", "$load", image="example.png"),
        "2": node("UpscaleModelLoader", "", model_name=MODEL_A),
        "3": node("ImageUpscaleWithModel", "Upscale $upscale()", upscale_model=link("2"), image=link("1")),
        "4": node("SaveImage", "#out", images=link("3"), filename_prefix="e2e"),
    }


def test_bypass_rewires_by_type_not_by_position(api: Client) -> None:
    api.saved("bypass/upscale", _upscale())
    (upscaled,) = api.run_ok("bypass/upscale", _load(size=(6, 4)))["out"]
    assert upscaled.size == (12, 8)
    (bypassed,) = api.run_ok("bypass/upscale", {**_load(size=(6, 4)), "upscale": False})["out"]
    assert bypassed.size == (6, 4)
    assert_color(bypassed, RED)


def test_bypassed_producer_of_an_optional_input_is_dropped(api: Client) -> None:
    prompt = {
        "1": node("EmptyImage", "", width=4, height=4, batch_size=1, color=0xFF0000),
        "2": node("EmptyImage", "", width=4, height=4, batch_size=1, color=0x0000FF),
        "3": node("SolidMask", "$mask()", value=0.0, width=4, height=4),
        "4": node("ImageCompositeMasked", "", destination=link("1"), source=link("2"), x=0, y=0, resize_source=False, mask=link("3")),
        "5": node("SaveImage", "#out", images=link("4"), filename_prefix="e2e"),
    }
    api.saved("bypass/optional", prompt)
    (masked,) = api.run_ok("bypass/optional")["out"]
    assert_color(masked, (255, 0, 0))  # a zero mask keeps the destination
    (unmasked,) = api.run_ok("bypass/optional", {"mask": False})["out"]
    assert_color(unmasked, (0, 0, 255))  # no mask: the whole source is pasted


def test_bypassing_an_output_node_returns_an_empty_list_for_it(api: Client) -> None:
    prompt = {
        "1": node("EmptyImage", "", width=4, height=4, batch_size=1, color=0x00FF00),
        "2": node("SaveImage", "#kept", images=link("1"), filename_prefix="e2e"),
        "3": node("PreviewImage", "$debug_preview() #debug", images=link("1")),
    }
    api.saved("bypass/output", prompt)
    result = api.run_ok("bypass/output", {"debug_preview": False})
    assert len(result["kept"]) == 1
    assert result["debug"] == []


def test_bypass_that_cannot_be_rewired_is_400(api: Client) -> None:
    api.saved("bypass/impossible", canvas("Canvas $canvas(width)", save_title="Save #out"))
    # EmptyImage has no IMAGE input to pass through to SaveImage.
    error = assert_error(api.run("bypass/impossible", {"canvas": False}), 400, "bypass_failed")
    assert "node 1" in error["message"]
    assert "'Canvas $canvas(width)'" in error["message"]
    assert "IMAGE" in error["message"]
    assert error["details"] == {"node_id": "1", "title": "Canvas $canvas(width)", "consumer": "2", "input": "images", "type": "IMAGE"}
    assert_still_serving(api)
