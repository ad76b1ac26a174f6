from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.specimens import spec

from connect.comfy.nodespec import NodeSpec
from connect.contract.schema import SHARED_SCHEMAS, build_contract
from connect.contract.validation import BodyChecks, check_body, validate_body
from connect.errors import PayloadError
from connect.workflow.endpoint import Endpoint, parse_endpoint

PROMPT = {
    "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}, "_meta": {"title": "$latent"}},
    "2": {
        "class_type": "KSampler",
        "inputs": {"latent_image": ["1", 0], "seed": 1, "steps": 20, "cfg": 8.0, "sampler_name": "euler"},
        "_meta": {"title": "$sampler"},
    },
    "3": {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": {"title": "$load"}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}, "_meta": {"title": "$model"}},
    "5": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "o"}, "_meta": {"title": "$save() #out"}},
}
CONTRACT = build_contract(parse_endpoint(PROMPT), spec)
PNG = {"type": "file", "content": "iVBORw0KGgo="}


def _rules(body: Any) -> list[tuple[str, str]]:
    return [(p["path"], p["rule"]) for p in check_body(CONTRACT, body)]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"sampler": {"steps": 1, "cfg": 0, "seed": 2**64 - 1}, "latent": {"width": 1024}}, id="in-range"),
        pytest.param({"sampler": {"steps": 20.0}}, id="integral-float-is-an-integer"),
        pytest.param({"sampler": {"cfg": 7}}, id="integer-is-a-number"),
        pytest.param({"sampler": {}, "latent": False, "save": False}, id="empty-group-and-bypass"),
        pytest.param({"load": {"image": "example.png"}}, id="existing-file-name"),
        pytest.param({"load": {"image": PNG}}, id="file-content"),
        pytest.param({"load": {"image": {"type": "file", "url": "https://example.com/a.png", "name": "a.png"}}}, id="file-url"),
    ],
)
def test_valid_bodies_pass(body: Any) -> None:
    assert check_body(CONTRACT, body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"sampler": {"steps": "20"}}, [("sampler.steps", "type")], id="string-is-not-an-integer"),
        pytest.param({"sampler": {"steps": 20.5}}, [("sampler.steps", "type")], id="fraction-is-not-an-integer"),
        pytest.param({"sampler": {"steps": True}}, [("sampler.steps", "type")], id="boolean-is-not-an-integer"),
        pytest.param({"sampler": {"steps": 0}}, [("sampler.steps", "minimum")], id="below-min"),
        pytest.param({"sampler": {"seed": 2**64}}, [("sampler.seed", "maximum")], id="above-max"),
        pytest.param({"latent": {"width": 500}}, [("latent.width", "multipleOf")], id="off-step"),
        pytest.param({"sampler": {"sampler_name": "nope"}}, [("sampler.sampler_name", "enum")], id="not-in-combo"),
        pytest.param({"model": {"ckpt_name": "m.safetensors"}}, [("model.ckpt_name", "not")], id="combo-without-choices"),
        pytest.param({"nope": {}}, [("nope", "additionalProperties")], id="unknown-group"),
        pytest.param(
            {"sampler": {"color": 1, "size": 2}},
            [("sampler.color", "additionalProperties"), ("sampler.size", "additionalProperties")],
            id="unknown-inputs",
        ),
        pytest.param({"save": {}}, [("save", "const")], id="empty-filter-takes-only-false"),
        pytest.param({"save": True}, [("save", "const")], id="true-is-not-bypass"),
        pytest.param({"sampler": True}, [("sampler", "oneOf")], id="group-neither-object-nor-false"),
        pytest.param({"sampler": ["1", 0]}, [("sampler", "oneOf")], id="group-link"),
        pytest.param([], [("", "type")], id="body-not-object"),
        pytest.param({"load": {"image": "missing.png"}}, [("load.image", "enum")], id="unknown-file-name"),
        pytest.param({"load": {"image": 3}}, [("load.image", "anyOf")], id="file-input-wrong-kind"),
        pytest.param({"load": {"image": {"type": "file"}}}, [("load.image", "oneOf")], id="file-without-content-or-url"),
        pytest.param({"load": {"image": {"type": "file", "url": 5}}}, [("load.image.url", "type")], id="file-url-not-string"),
        pytest.param({"load": {"image": {"type": "image", "content": "eA=="}}}, [("load.image.type", "const")], id="file-type-not-file"),
        pytest.param(
            {"sampler": {"steps": {"type": "file", "content": "eA=="}}}, [("sampler.steps", "type")], id="file-for-non-file-input"
        ),
        pytest.param(
            {"sampler": {"steps": 0, "cfg": "x"}, "x": 1, "latent": {"width": 1}},
            [
                ("latent.width", "minimum"),
                ("latent.width", "multipleOf"),
                ("sampler.cfg", "type"),
                ("sampler.steps", "minimum"),
                ("x", "additionalProperties"),
            ],
            id="every-problem-at-once",
        ),
    ],
)
def test_each_problem_is_reported_in_callers_names(body: Any, expected: list[tuple[str, str]]) -> None:
    assert _rules(body) == expected


def test_problem_carries_rule_value_and_limit() -> None:
    [problem] = check_body(CONTRACT, {"sampler": {"steps": 0}})
    assert problem == {"path": "sampler.steps", "rule": "minimum", "expected": 1, "message": "0 is less than the minimum of 1", "value": 0}


def test_unknown_names_list_what_is_exposed() -> None:
    [group] = check_body(CONTRACT, {"sampler ": {}})
    assert group["message"] == "unknown input group; exposed groups: latent, sampler, load, model, save"
    [field] = check_body(CONTRACT, {"sampler": {"step": 3}})
    assert field["message"] == "not an exposed input of 'sampler'; exposed: seed, steps, cfg, sampler_name"
    assert field["value"] == 3


def test_type_message_says_what_was_given() -> None:
    [problem] = check_body(CONTRACT, {"sampler": {"steps": "20"}})
    assert problem["message"] == "expected an integer, got a string"
    assert problem["expected"] == "integer"


def test_file_content_is_never_echoed() -> None:
    [problem] = check_body(CONTRACT, {"load": {"image": {"type": "file", "content": "A" * 5000, "url": "http://x"}}})
    assert problem["value"]["content"] == "<omitted>"


def test_validate_body_raises_422_with_all_problems() -> None:
    with pytest.raises(PayloadError, match=r"^latent.width: 1 is less than the minimum of 16 \(and 2 more\)$") as caught:
        validate_body(CONTRACT, {"latent": {"width": 1}, "nope": 1})
    assert caught.value.status == 422
    assert [p["path"] for p in caught.value.details["problems"]] == ["latent.width", "latent.width", "nope"]


@pytest.mark.parametrize(
    "body",
    [
        {"sampler": {"steps": 0}},
        {"sampler": {"steps": 20}},
        {"load": {"image": {"type": "file", "content": "x", "url": "y"}}},
        {"load": {"image": {"type": "file", "content": "x"}}},
        {"save": False},
        {"save": 0},
        [],
        None,
    ],
)
def test_verdict_is_the_document_schemas_verdict(body: Any) -> None:
    """Whatever the explanation, accept/refuse is exactly what the published schema says."""
    root = {**CONTRACT.body_schema(), "components": {"schemas": SHARED_SCHEMAS}}
    assert (check_body(CONTRACT, body) == []) == Draft202012Validator(root).is_valid(body)


# -- BodyChecks: a validator per workflow, reused briefly ------------------------------------------
class Models:
    """CheckpointLoaderSimple's live combo list, and how often a contract was built from it."""

    def __init__(self) -> None:
        self.files = ["a.safetensors"]
        self.builds = 0
        self.now = 0.0

    def spec(self, class_type: str) -> NodeSpec | None:
        if class_type == "CheckpointLoaderSimple":
            return NodeSpec.from_object_info(class_type, {"input": {"required": {"ckpt_name": [list(self.files)]}}, "output": ["MODEL"]})
        return spec(class_type)

    def checks(self) -> BodyChecks:
        def build(endpoint: Endpoint) -> Any:
            self.builds += 1
            return build_contract(endpoint, self.spec)

        return BodyChecks(build, clock=lambda: self.now)


MODEL_ENDPOINT = parse_endpoint({"4": {**PROMPT["4"], "inputs": {"ckpt_name": "a.safetensors"}}})


def test_a_workflows_validator_is_built_once_and_reused() -> None:
    models = Models()
    checks = models.checks()
    for _ in range(3):
        checks.validate("w", MODEL_ENDPOINT, {"model": {"ckpt_name": "a.safetensors"}})
    assert models.builds == 1


def test_a_model_file_added_since_is_accepted_at_once() -> None:
    models = Models()
    checks = models.checks()
    checks.validate("w", MODEL_ENDPOINT, {})
    models.files.append("b.safetensors")
    checks.validate("w", MODEL_ENDPOINT, {"model": {"ckpt_name": "b.safetensors"}})  # the kept validator refuses; a fresh one accepts
    assert models.builds == 2


def test_a_refusal_stands_only_after_a_fresh_validator_agrees() -> None:
    models = Models()
    checks = models.checks()
    checks.validate("w", MODEL_ENDPOINT, {})
    with pytest.raises(PayloadError) as caught:
        checks.validate("w", MODEL_ENDPOINT, {"model": {"ckpt_name": "c.safetensors"}})
    assert [p["path"] for p in caught.value.details["problems"]] == ["model.ckpt_name"]
    assert models.builds == 2


def test_a_validator_is_rebuilt_after_a_second_and_for_a_changed_workflow() -> None:
    models = Models()
    checks = models.checks()
    checks.validate("w", MODEL_ENDPOINT, {})
    models.files = ["b.safetensors"]
    models.now = 1.5
    with pytest.raises(PayloadError):  # a removed file is refused by ComfyUI's list of now, not the kept one
        checks.validate("w", MODEL_ENDPOINT, {"model": {"ckpt_name": "a.safetensors"}})
    assert models.builds == 2
    checks.validate("w", parse_endpoint({"4": {**PROMPT["4"], "inputs": {"ckpt_name": "b.safetensors"}}}), {})
    assert models.builds == 3
    checks.clear()
    checks.validate("w", MODEL_ENDPOINT, {"model": {"ckpt_name": "b.safetensors"}})
    assert models.builds == 4
