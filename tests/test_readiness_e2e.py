"""Readiness against a real ComfyUI: what its own node definitions say is installed, followed live.

Model lists come from ComfyUI's folders (it caches them by folder mtime): a file copied in or removed
changes the verdict without a restart.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.client import Client
from support.documents import assert_documented
from support.errors import assert_error
from support.images import png, png_b64
from support.models import write_compact_model
from support.server import MODEL_A
from support.uiformat import UIGraph
from support.workflows import file_input, link, node

pytestmark = pytest.mark.e2e


def upscale(model: str, loader_title: str = "Upscaler") -> dict[str, Any]:
    return {
        "1": node("EmptyImage", "", width=8, height=8, batch_size=1, color=0xFF0000),
        "2": node("UpscaleModelLoader", loader_title, model_name=model),
        "3": node("ImageUpscaleWithModel", "", upscale_model=link("2"), image=link("1")),
        "4": node("SaveImage", "Save #out", images=link("3"), filename_prefix="ready"),
    }


def picture(image: str) -> dict[str, Any]:
    return {
        "1": node("LoadImage", "Picture $picture", image=image),
        "2": node("ImageInvert", "", image=link("1")),
        "3": node("SaveImage", "Save #out", images=link("2"), filename_prefix="ready"),
    }


def missing(response_json: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(m["kind"], m["node_id"], m["value"]) for m in response_json["missing"]]


def test_a_model_file_copied_in_makes_it_ready_and_run_without_restart(api: Client) -> None:
    model = "ready-absent.safetensors"
    saved = api.save("ready/model", upscale(model))
    assert saved.status_code == 201, saved.text  # saved: it may be meant for another box
    assert (saved.json()["ready"], missing(saved.json())) == (False, [("model_file", "2", model)])
    refused = api.run("ready/model")
    error = assert_error(refused, 409, "endpoint_not_ready", model)
    named = {"kind": "model_file", "node_id": "2", "class_type": "UpscaleModelLoader", "title": "Upscaler", "input": "model_name"}
    assert error["details"]["missing"] == [{**named, "value": model}]
    assert_documented(api.document(), "/api/connect/workflows/ready/model", "POST", refused)
    unready = api.call("GET", "/api/connect/workflows/ready/model/ready")
    assert_error(unready, 503, "unavailable", model)
    assert api.call("GET", "/api/connect/ready").json()["endpoints"]["not_ready"] >= 1  # the instance is still ready

    path = write_compact_model(api.base / "models" / "upscale_models" / model, seed=3)
    try:
        described = api.describe("ready/model").json()
        assert (described["ready"], described["missing"]) == (True, [])
        ready = api.call("GET", "/api/connect/workflows/ready/model/ready")
        assert ready.status_code == 200 and ready.json() == {"name": "ready/model", "ready": True, "missing": []}
        (image,) = api.run_ok("ready/model")["out"]
        assert image.size == (16, 16)  # the tiny model doubles it
    finally:
        path.unlink()
    assert api.describe("ready/model").json()["ready"] is False  # removed: not ready again
    assert_error(api.run("ready/model"), 409, "endpoint_not_ready", model)


def test_a_node_class_that_is_not_installed(api: Client) -> None:
    prompt = {**upscale(MODEL_A), "3": node("FancyUpscaleNotInstalled", "Fancy", upscale_model=link("2"), image=link("1"))}
    saved = api.saved("ready/class", prompt)
    assert missing(saved) == [("node_class", "3", None)]
    listed = {w["name"]: w for w in api.listing()["workflows"]}
    assert listed["ready/class"]["ready"] is False and listed["ready/class"]["missing"] == saved["missing"]
    assert_error(api.run("ready/class"), 409, "endpoint_not_ready", "FancyUpscaleNotInstalled")


def test_an_input_file_that_is_absent_and_a_file_sent_instead(api: Client) -> None:
    saved = api.saved("ready/picture", picture("ready-photo.png"))
    assert missing(saved) == [("input_file", "1", "ready-photo.png")]
    assert_error(api.run("ready/picture"), 409, "endpoint_not_ready", "ready-photo.png")
    sent = api.run_ok("ready/picture", {"picture": {"image": file_input(png_b64((255, 255, 255)))}})
    assert sent["out"][0].convert("RGB").getpixel((0, 0)) == (0, 0, 0)
    (api.input / "ready-photo.png").write_bytes(png((0, 0, 255)))
    try:
        assert api.describe("ready/picture").json()["ready"] is True
        (image,) = api.run_ok("ready/picture")["out"]
        assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 0)
    finally:
        (api.input / "ready-photo.png").unlink()


def test_a_callers_value_stands_in_for_a_missing_default(api: Client) -> None:
    api.saved("ready/override", upscale("ready-gone.safetensors", loader_title="Upscaler $upscaler"))
    assert_error(api.run("ready/override"), 409, "endpoint_not_ready", "ready-gone.safetensors")
    (image,) = api.run_ok("ready/override", {"upscaler": {"model_name": MODEL_A}})["out"]
    assert image.size == (16, 16)
    # A value ComfyUI does not offer stays the contract's 422, as before readiness.
    assert_error(api.run("ready/override", {"upscaler": {"model_name": "nope.safetensors"}}), 422, "invalid_payload", "upscaler.model_name")


def test_a_ui_format_save_converted_on_the_server_says_it_too(api: Client) -> None:
    ui = UIGraph()
    canvas = ui.node(1, "EmptyImage", [8, 8, 1, 0], outputs=["IMAGE"])
    loader = ui.node(2, "UpscaleModelLoader", ["ready-ui.safetensors"], outputs=["UPSCALE_MODEL"], title="Upscaler")
    upscale = ui.node(3, "ImageUpscaleWithModel", inputs=[("upscale_model", "UPSCALE_MODEL"), ("image", "IMAGE")], outputs=["IMAGE"])
    save = ui.node(4, "SaveImage", ["ready"], inputs=[("images", "IMAGE")], title="Save #out")
    ui.link(loader, 0, upscale, 0)
    ui.link(canvas, 0, upscale, 1)
    ui.link(upscale, 0, save, 0)
    saved = api.call("PUT", "/api/connect/workflows/ready/ui", json_body={"workflow": ui.saved()})
    assert saved.status_code == 201, saved.text
    assert (saved.json()["ready"], missing(saved.json())) == (False, [("model_file", "2", "ready-ui.safetensors")])
