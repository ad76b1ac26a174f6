from __future__ import annotations

from typing import Any

import pytest

from connect.comfy.nodespec import InputSpec, NodeSpec, types_match

SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]

# /object_info of KSampler as ComfyUI 0.3.75 serves it for a V1 node (combos are lists of choices).
KSAMPLER_INFO: dict[str, Any] = {
    "input": {
        "required": {
            "model": ["MODEL", {"tooltip": "The model used for denoising the input latent."}],
            "seed": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}],
            "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
            "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}],
            "sampler_name": [SAMPLERS, {"tooltip": "The algorithm used when sampling."}],
            "scheduler": [["normal", "karras"]],
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"],
            "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}],
        }
    },
    "input_order": {
        "required": ["model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative", "latent_image", "denoise"]
    },
    "output": ["LATENT"],
    "output_is_list": [False],
    "output_name": ["LATENT"],
    "name": "KSampler",
    "output_node": False,
}


def test_from_object_info_reads_a_v1_node() -> None:
    spec = NodeSpec.from_object_info("KSampler", KSAMPLER_INFO)
    assert spec.class_type == "KSampler"
    assert [(i.name, i.type) for i in spec.inputs] == [
        ("model", "MODEL"),
        ("seed", "INT"),
        ("steps", "INT"),
        ("cfg", "FLOAT"),
        ("sampler_name", "COMBO"),
        ("scheduler", "COMBO"),
        ("positive", "CONDITIONING"),
        ("negative", "CONDITIONING"),
        ("latent_image", "LATENT"),
        ("denoise", "FLOAT"),
    ]
    assert spec.outputs == ("LATENT",)
    assert spec.output_node is False
    steps = spec.input("steps")
    assert steps is not None
    assert (steps.options["min"], steps.options["max"], steps.required, steps.choices) == (1, 10000, True, None)
    sampler = spec.input("sampler_name")
    assert sampler is not None
    assert sampler.choices == tuple(SAMPLERS)
    assert sampler.options == {"tooltip": "The algorithm used when sampling."}
    scheduler = spec.input("scheduler")
    assert scheduler is not None
    assert (scheduler.choices, dict(scheduler.options)) == (("normal", "karras"), {})


def test_from_object_info_reads_combo_options_of_a_v3_node() -> None:
    # V3 nodes (comfy_api io.Combo) are served as ["COMBO", {"options": [...]}].
    info = {
        "input": {
            "required": {
                "image": ["IMAGE", {}],
                "upscale_method": ["COMBO", {"options": ["nearest-exact", "bilinear"], "default": "bilinear"}],
                "multi": ["COMBO", {"multiselect": True}],
            },
            "optional": {"mask": ["MASK", {}]},
            "hidden": {"unique_id": "UNIQUE_ID"},
        },
        "input_order": {"required": ["image", "upscale_method", "multi"], "optional": ["mask"], "hidden": ["unique_id"]},
        "output": ["IMAGE", ["a", "b"]],
        "output_node": True,
    }
    spec = NodeSpec.from_object_info("ImageResizeV3", info)
    method = spec.input("upscale_method")
    assert method == InputSpec(
        "upscale_method", "COMBO", {"options": ["nearest-exact", "bilinear"], "default": "bilinear"}, True, ("nearest-exact", "bilinear")
    )
    multi = spec.input("multi")
    assert multi is not None
    assert (multi.type, multi.choices) == ("COMBO", None)
    mask = spec.input("mask")
    assert mask is not None
    assert mask.required is False
    assert spec.input("unique_id") is None  # hidden inputs are not the caller's
    assert spec.outputs == ("IMAGE", "COMBO")
    assert spec.output_node is True


def test_from_object_info_follows_input_order_and_falls_back_to_declaration_order() -> None:
    info = {"input": {"required": {"b": ["INT"], "a": ["INT"]}, "optional": {"d": ["STRING"], "c": ["STRING"]}}}
    ordered = {**info, "input_order": {"required": ["a", "b"], "optional": ["c", "d"]}}
    assert [i.name for i in NodeSpec.from_object_info("X", info).inputs] == ["b", "a", "d", "c"]
    assert [i.name for i in NodeSpec.from_object_info("X", ordered).inputs] == ["a", "b", "c", "d"]


def test_from_object_info_of_a_node_without_inputs() -> None:
    spec = NodeSpec.from_object_info("Empty", {"input": {"required": {}}, "output": [], "output_node": False})
    assert (spec.inputs, spec.outputs) == ((), ())
    assert spec.input("anything") is None


def test_bare_type_string_entry() -> None:
    spec = NodeSpec.from_object_info("X", {"input": {"required": {"value": "INT"}}})
    assert spec.inputs == (InputSpec("value", "INT", {}, True, None),)


@pytest.mark.parametrize(
    ("produced", "wanted", "expected"),
    [
        pytest.param("IMAGE", "IMAGE", True, id="equal"),
        pytest.param("IMAGE", "LATENT", False, id="different"),
        pytest.param("*", "LATENT", True, id="any-produced"),
        pytest.param("IMAGE", "*", True, id="any-wanted"),
        pytest.param("IMAGE,MASK", "MASK", True, id="union-produced"),
        pytest.param("INT", "STRING,INT", True, id="union-wanted"),
        pytest.param("STRING,BOOLEAN", "INT,FLOAT", False, id="disjoint-unions"),
        pytest.param("STRING, INT", "INT", True, id="union-with-spaces"),
        pytest.param("IMAGE", "image", False, id="case-sensitive"),
    ],
)
def test_types_match(produced: str, wanted: str, expected: bool) -> None:
    assert types_match(produced, wanted) is expected
