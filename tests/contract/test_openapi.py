from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from support.specimens import spec

from connect import errors
from connect.contract.openapi import build_document, documented_errors, error_schema_name
from connect.errors import ConnectError, NotFound, WorkflowCorrupt
from connect.workflow.endpoint import parse_endpoint
from connect.workflow.store import SavedWorkflow

PROMPT = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": {"title": "$load"}},
    "2": {
        "class_type": "KSampler",
        "inputs": {"latent_image": ["1", 0], "steps": 20, "sampler_name": "euler"},
        "_meta": {"title": "$sampler"},
    },
    "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}, "_meta": {"title": "$model"}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}, "_meta": {"title": "$save() #out"}},
}


def _document(*names: str, broken: dict[str, ConnectError] | None = None) -> dict[str, Any]:
    workflows = [SavedWorkflow(name, parse_endpoint(PROMPT), None, "2025-11-30T00:00:00+00:00") for name in names]
    return build_document(workflows, spec, broken or {}, "0.1.0", 600.0)


def test_document_is_valid_openapi_3_1() -> None:
    validate(_document("txt2img", "team/upscale", broken={"bad": WorkflowCorrupt("the stored file is not JSON")}))


def test_document_without_workflows_still_has_every_route() -> None:
    document = _document()
    validate(document)
    assert document["paths"]["/api/connect/workflows/{name}"].keys() == {"get", "put", "delete", "post"}


def test_operation_ids_stay_unique_when_names_map_to_one_identifier() -> None:
    document = _document("a-b", "a_b", "a/b")
    validate(document)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"run_a_b", "run_a_b_2", "run_a_b_3"} <= set(ids)


def test_run_operation_is_the_contract() -> None:
    operation = _document("txt2img")["paths"]["/api/connect/workflows/txt2img"]["post"]
    media = operation["requestBody"]["content"]["application/json"]
    assert media["example"] == {
        "load": {"image": "example.png"},
        "sampler": {"steps": 20, "sampler_name": "euler"},
        "model": {"ckpt_name": "m.safetensors"},
    }
    assert media["schema"]["properties"]["save"]["const"] is False
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["required"] == ["out"]
    assert operation["requestBody"]["required"] is False


def test_every_error_class_is_documented() -> None:
    def subclasses(cls: type[ConnectError]) -> set[type[ConnectError]]:
        return {cls}.union(*(subclasses(sub) for sub in cls.__subclasses__()))

    assert subclasses(ConnectError) == set(documented_errors())
    schemas = _document()["components"]["schemas"]
    for cls in documented_errors():
        error = schemas[error_schema_name(cls)]["properties"]["error"]
        assert error["properties"]["type"]["const"] == cls.type
        assert schemas[error_schema_name(cls)]["description"].startswith(f"HTTP {cls.status}:")


@pytest.mark.parametrize(
    ("path", "method", "status", "types"),
    [
        ("/api/connect/workflows/t", "post", "422", {"invalid_payload", "prompt_invalid", "idempotency_key_reused"}),
        ("/api/connect/workflows/t", "post", "500", {"execution_failed", "workflow_corrupt", "internal_error", "output_too_large"}),
        ("/api/connect/workflows/t", "post", "504", {"timeout"}),
        (
            "/api/connect/workflows/{name}",
            "put",
            "400",
            {"invalid_name", "invalid_json", "bad_request", "invalid_workflow", "invalid_annotation"},
        ),
        ("/api/connect/workflows/{name}", "delete", "404", {"not_found"}),
        ("/api/connect/docs/{asset}", "get", "404", {"not_found"}),
    ],
)
def test_each_status_lists_the_error_types_it_can_carry(path: str, method: str, status: str, types: set[str]) -> None:
    document = _document("t")
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    refs = schema.get("oneOf", [schema])
    found = {
        document["components"]["schemas"][r["$ref"].rsplit("/", 1)[1]]["properties"]["error"]["properties"]["type"]["const"] for r in refs
    }
    assert found == types


def test_error_body_matches_its_documented_schema() -> None:
    from jsonschema import Draft202012Validator

    components = _document()["components"]
    for exc in (NotFound("no workflow named 'x'", {"name": "x"}), NotFound("no asset"), errors.InvalidJSON("not JSON")):
        schema = {**components["schemas"][error_schema_name(type(exc))], "components": components}
        Draft202012Validator(schema).validate(exc.body())


def test_run_responses_per_delivery_mode_and_the_multipart_body() -> None:
    document = _document("txt2img")
    operation = document["paths"]["/api/connect/workflows/txt2img"]["post"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {
        "application/json",
        "application/vnd.comfyui-connect.url+json",
        "application/vnd.comfyui-connect.detailed+json",
        "application/octet-stream",
        "image/*",
        "video/*",
        "audio/*",
        "model/*",
        "text/plain",
    }
    assert content["application/vnd.comfyui-connect.detailed+json"]["schema"]["properties"]["out"]["items"]["oneOf"] == [
        {"$ref": "#/components/schemas/DetailedFile"},
        {"$ref": "#/components/schemas/DetailedValue"},
    ]
    output = next(p for p in operation["parameters"] if p["name"] == "output")
    assert output["schema"]["enum"] == ["base64", "url", "raw", "detailed"]
    multipart = operation["requestBody"]["content"]["multipart/form-data"]
    assert multipart["schema"]["properties"]["payload"] == operation["requestBody"]["content"]["application/json"]["schema"]
    assert "406" in operation["responses"]
    file_input = document["components"]["schemas"]["FileInput"]["oneOf"]
    assert {"$ref": "#/components/schemas/FilePart"} in file_input


def test_files_route_is_documented_and_public() -> None:
    document = build_document([], spec, {}, "0.1.0", 600.0, secured=True)
    validate(document)
    operation = document["paths"]["/api/connect/files/{token}/{name}"]["get"]
    assert operation["security"] == []
    assert set(operation["responses"]) == {"200", "404", "500"}


def test_get_job_takes_output_for_the_json_forms_and_documents_its_400() -> None:
    operation = _document()["paths"]["/api/connect/jobs/{job_id}"]["get"]
    (output,) = [p for p in operation["parameters"] if p["name"] == "output"]
    assert output["in"] == "query" and output["schema"]["enum"] == ["base64", "url", "detailed"]
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BadRequest"}


def test_a_job_may_hold_outputs_of_any_json_form() -> None:
    items = _document()["components"]["schemas"]["Job"]["properties"]["outputs"]["additionalProperties"]["items"]
    assert {"$ref": "#/components/schemas/DetailedFile"} in items["anyOf"] and {"type": "string"} in items["anyOf"]
