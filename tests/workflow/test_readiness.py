from __future__ import annotations

from typing import Any

import pytest
from support.workflows import link, node

from connect.comfy.nodespec import NodeSpec
from connect.workflow.readiness import Kind, Missing, readiness

# Shaped like ComfyUI's /object_info; the combo lists are "what is installed now".
INFO: dict[str, dict[str, Any]] = {
    "UpscaleModelLoader": {"input": {"required": {"model_name": [["a.safetensors", "b.pth"], {}]}}, "output": ["UPSCALE_MODEL"]},
    "LoadImage": {"input": {"required": {"image": [["example.png"], {"image_upload": True}]}}, "output": ["IMAGE", "MASK"]},
    "KSamplerLike": {
        "input": {"required": {"image": ["IMAGE", {}], "sampler_name": [["euler", "ddim"], {}], "steps": ["INT", {"min": 1}]}},
        "output": ["IMAGE"],
    },
    "RemoteList": {"input": {"required": {"model": ["COMBO", {"options": [], "remote": {"route": "/x"}}]}}, "output": ["STRING"]},
    "V3Combo": {"input": {"required": {"mode": ["COMBO", {"options": ["fast", "slow"]}]}}, "output": ["STRING"]},
    "Upscale": {"input": {"required": {"model": ["UPSCALE_MODEL", {}], "image": ["IMAGE", {}]}}, "output": ["IMAGE"]},
    "SaveImage": {"input": {"required": {"images": ["IMAGE", {}]}}, "output": [], "output_node": True},
    "ShowText": {"input": {"required": {"text": ["STRING", {}]}}, "output": [], "output_node": True},
}


def specs(class_type: str) -> NodeSpec | None:
    info = INFO.get(class_type)
    return None if info is None else NodeSpec.from_object_info(class_type, info)


def upscale(model: str = "a.safetensors", image: str = "example.png", sampler: str = "euler") -> dict[str, dict[str, Any]]:
    return {
        "1": node("UpscaleModelLoader", "Model", model_name=model),
        "2": node("LoadImage", "Picture $pic", image=image),
        "3": node("KSamplerLike", "", image=link("2"), sampler_name=sampler, steps=2),
        "4": node("Upscale", "", model=link("1"), image=link("3")),
        "5": node("SaveImage", "Save #out", images=link("4")),
    }


def test_everything_installed_is_ready() -> None:
    verdict = readiness(upscale(), specs)
    assert verdict.ready and verdict.body() == {"ready": True, "missing": []}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param(
            upscale(model="x4.safetensors"),
            Missing("model_file", "1", "UpscaleModelLoader", "Model", "model_name", "x4.safetensors"),
            id="model-file",
        ),
        pytest.param(
            upscale(image="photo.png"), Missing("input_file", "2", "LoadImage", "Picture $pic", "image", "photo.png"), id="input-file"
        ),
        pytest.param(
            upscale(sampler="res_multistep"), Missing("choice", "3", "KSamplerLike", "", "sampler_name", "res_multistep"), id="choice"
        ),
        pytest.param(
            {**upscale(), "4": node("FancyUpscale", "Up", model=link("1"), image=link("3"))},
            Missing("node_class", "4", "FancyUpscale", "Up"),
            id="node-class",
        ),
        pytest.param(
            {"1": node("V3Combo", "", mode="medium"), "2": node("ShowText", "#t", text=link("1"))},
            Missing("choice", "1", "V3Combo", "", "mode", "medium"),
            id="v3-combo-options",
        ),
    ],
)
def test_what_is_not_installed_is_named(prompt: dict[str, dict[str, Any]], expected: Missing) -> None:
    verdict = readiness(prompt, specs)
    assert not verdict.ready and verdict.missing == (expected,)


def test_every_missing_thing_is_listed_and_summarised() -> None:
    prompt = {**upscale(model="x4.safetensors", image="photo.png"), "6": node("NotHere", "Ghost")}
    verdict = readiness(prompt, specs)
    assert [(m.kind, m.node_id) for m in verdict.missing] == [("node_class", "6"), ("model_file", "1"), ("input_file", "2")]
    assert verdict.summary() == ("not installed on this ComfyUI: node class 'NotHere' (node 6 'Ghost') (and 2 more)")
    assert verdict.missing[1].text() == "model file 'x4.safetensors' (node 1 'Model', UpscaleModelLoader.model_name)"


def test_inputs_of_nodes_no_output_needs_are_not_judged_but_classes_are() -> None:
    # ComfyUI validates only what its output nodes read; a class it does not know fails any prompt.
    prompt = {**upscale(), "7": node("UpscaleModelLoader", "Spare", model_name="gone.safetensors"), "8": node("NotHere", "")}
    assert [m.kind for m in readiness(prompt, specs).missing] == ["node_class"]


def test_a_node_that_checks_the_input_itself_is_asked() -> None:
    asked: list[tuple[str, str, str, Kind]] = []

    def accepts(class_type: str, input_name: str, value: str, kind: Kind) -> bool:
        asked.append((class_type, input_name, value, kind))
        return value.startswith("connect/")

    assert readiness(upscale(image="connect/connect-abc.png"), specs, accepts).ready
    assert not readiness(upscale(image="photo.png", sampler="lms"), specs, accepts).ready
    assert asked == [
        ("LoadImage", "image", "connect/connect-abc.png", "input_file"),
        ("LoadImage", "image", "photo.png", "input_file"),
        ("KSamplerLike", "sampler_name", "lms", "choice"),
    ]


def test_links_remote_lists_and_plain_values_are_not_judged() -> None:
    prompt = {"1": node("RemoteList", "", model="anything"), "2": node("ShowText", "#t", text=link("1"))}
    assert readiness(prompt, specs).ready
    assert readiness({**upscale(), "9": node("ShowText", "#t", text="not a combo")}, specs).ready


def test_definitions_are_read_once_per_class() -> None:
    read: list[str] = []

    def counting(class_type: str) -> NodeSpec | None:
        read.append(class_type)
        return specs(class_type)

    readiness({**upscale(), "6": node("UpscaleModelLoader", "", model_name="b.pth")}, counting)
    assert sorted(read) == sorted(set(read))
