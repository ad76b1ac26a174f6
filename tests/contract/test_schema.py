from __future__ import annotations

from typing import Any

import pytest
from support.specimens import spec

from connect.contract.schema import FILE_INPUT_REF, build_contract, input_contract
from connect.workflow.endpoint import parse_endpoint


def _schema(class_type: str, name: str, saved: Any) -> dict[str, Any]:
    declared = spec(class_type)
    return input_contract("g", name, saved, declared.input(name) if declared else None, class_type).schema()


@pytest.mark.parametrize(
    ("class_type", "name", "saved", "expected"),
    [
        pytest.param("KSampler", "steps", 30, {"type": "integer", "minimum": 1, "maximum": 10000}, id="int-min-max"),
        pytest.param("KSampler", "seed", 7, {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}, id="int-64-bit"),
        pytest.param(
            "EmptyLatentImage", "width", 512, {"type": "integer", "minimum": 16, "maximum": 16384, "multipleOf": 8}, id="int-step"
        ),
        # The editor snaps `length` to 1, 5, 9, ...: not multiples of 4, so no multipleOf.
        pytest.param("EmptyHunyuanLatentVideo", "length", 25, {"type": "integer", "minimum": 1, "maximum": 16384}, id="int-step-offset"),
        pytest.param("KSampler", "cfg", 7.5, {"type": "number", "minimum": 0.0, "maximum": 100.0}, id="float-no-multipleOf"),
        pytest.param(
            "KSampler", "sampler_name", "euler", {"type": "string", "enum": ["euler", "euler_ancestral", "heun", "dpmpp_2m"]}, id="combo"
        ),
        pytest.param(
            "ImageScaleBy", "upscale_method", "bilinear", {"type": "string", "enum": ["nearest-exact", "bilinear"]}, id="combo-v3"
        ),
        pytest.param("CLIPTextEncode", "text", "hi", {"type": "string"}, id="string"),
        pytest.param("Toggle", "enabled", False, {"type": "boolean"}, id="boolean"),
        pytest.param("LoadImageOutput", "image", "a.png [output]", {"type": "string"}, id="remote-combo-output-folder"),
        pytest.param("NotInstalled", "strength", 0.5, {"type": "number"}, id="unknown-class-float"),
    ],
)
def test_input_schema_follows_node_definition(class_type: str, name: str, saved: Any, expected: dict[str, Any]) -> None:
    schema = _schema(class_type, name, saved)
    assert {k: v for k, v in schema.items() if k in ("type", "minimum", "maximum", "multipleOf", "enum", "not")} == expected
    assert schema["default"] == saved
    assert schema["examples"] == [saved]


@pytest.mark.parametrize(
    ("class_type", "name", "saved", "expected"),
    [
        pytest.param("CheckpointLoaderSimple", "ckpt_name", "m.safetensors", {"type": "string", "not": {}}, id="combo-without-choices"),
        pytest.param(
            "KSampler",
            "sampler_name",
            "gone",
            {"type": "string", "enum": ["euler", "euler_ancestral", "heun", "dpmpp_2m"]},
            id="not-in-combo",
        ),
        pytest.param(
            "EmptyLatentImage", "width", 500, {"type": "integer", "minimum": 16, "maximum": 16384, "multipleOf": 8}, id="off-step"
        ),
        pytest.param("NotInstalled", "mode", {"__value__": [1]}, {"type": ["boolean", "number", "string"]}, id="unknown-class-never-array"),
    ],
)
def test_saved_value_the_schema_refuses_is_no_default(class_type: str, name: str, saved: Any, expected: dict[str, Any]) -> None:
    schema = _schema(class_type, name, saved)
    assert {k: v for k, v in schema.items() if k in ("type", "minimum", "maximum", "multipleOf", "enum", "not")} == expected
    assert "default" not in schema and "examples" not in schema
    assert schema["x-comfy"]["saved"] == saved
    assert "is not accepted now" in schema["description"]


def test_upload_input_takes_a_file_name_or_a_file_object() -> None:
    schema = _schema("LoadImage", "image", "example.png")
    assert schema["anyOf"] == [{"type": "string", "enum": ["example.png", "cat.jpg"]}, {"$ref": FILE_INPUT_REF}]
    assert schema["default"] == "example.png"


def test_comfy_facts_and_tooltip_are_kept() -> None:
    schema = _schema("KSampler", "cfg", 7.5)
    assert schema["x-comfy"] == {"class_type": "KSampler", "input": "cfg", "type": "FLOAT", "step": 0.1, "round": 0.01}
    assert _schema("KSampler", "steps", 20)["description"] == "The number of steps used in the denoising process."
    assert _schema("CLIPTextEncode", "text", "")["x-comfy"]["multiline"] is True


PROMPT = {
    "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}, "_meta": {"title": "$latent(width)"}},
    "2": {"class_type": "KSampler", "inputs": {"latent_image": ["1", 0], "steps": 20, "cfg": 8.0}, "_meta": {"title": "$sampler"}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["2", 0]}, "_meta": {"title": "$prompt()"}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "o"}, "_meta": {"title": "#out"}},
}


def test_body_schema_groups_are_objects_or_false_and_nothing_is_required() -> None:
    body = build_contract(parse_endpoint(PROMPT), spec).body_schema()
    assert body["additionalProperties"] is False
    assert "required" not in body
    latent = body["properties"]["latent"]
    inputs, bypass = latent["oneOf"]
    assert list(inputs["properties"]) == ["width"]  # the filter holds
    assert inputs["additionalProperties"] is False and "required" not in inputs
    assert bypass == {"type": "boolean", "const": False, "description": "Bypass this group's nodes for this call"}
    assert list(body["properties"]["sampler"]["oneOf"][0]["properties"]) == ["steps", "cfg"]  # links never exposed


def test_empty_filter_group_accepts_only_false() -> None:
    body = build_contract(parse_endpoint(PROMPT), spec).body_schema()
    assert body["properties"]["prompt"]["const"] is False
    assert body["properties"]["prompt"]["type"] == "boolean"


def test_example_is_the_saved_values() -> None:
    contract = build_contract(parse_endpoint(PROMPT), spec)
    assert contract.example() == {"latent": {"width": 512}, "sampler": {"steps": 20, "cfg": 8.0}}


@pytest.mark.parametrize(
    "saved",
    [20, 20.0, 20.5, "20", True, None, 0, 10001, 16, 17, 24.0, "euler", "gone", 1, [1], {"a": 1}],
)
@pytest.mark.parametrize(
    ("class_type", "name"),
    [
        ("KSampler", "steps"),
        ("KSampler", "cfg"),
        ("KSampler", "sampler_name"),
        ("EmptyLatentImage", "width"),
        ("Toggle", "enabled"),
        ("CheckpointLoaderSimple", "ckpt_name"),
    ],
)
def test_saved_value_check_agrees_with_json_schema(class_type: str, name: str, saved: Any) -> None:
    from jsonschema import Draft202012Validator

    declared = spec(class_type)
    assert declared is not None
    contract = input_contract("g", name, saved, declared.input(name), class_type)
    assert contract.saved_value_accepted == Draft202012Validator(contract._typed()).is_valid(saved)
