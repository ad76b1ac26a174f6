"""contract/openapi/versions.py: the versions routes, `?version=` and `?force=` in the document."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from support.specimens import spec

from connect.contract.openapi import build_document
from connect.workflow.endpoint import parse_endpoint
from connect.workflow.store import SavedWorkflow

PROMPT = {
    "1": {"class_type": "KSampler", "inputs": {"steps": 20}, "_meta": {"title": "$sampler"}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "#out"}},
}
WORKFLOWS = "/api/connect/workflows"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    saved = SavedWorkflow("txt2img", parse_endpoint(PROMPT), None, "2025-11-30T00:00:00+00:00")
    built = build_document([saved], spec, {}, "0.1.0", 600.0)
    validate(built)
    return built


def _params(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation["parameters"]]


def _types(response: dict[str, Any]) -> list[str]:
    schema = response["content"]["application/json"]["schema"]
    return [ref["$ref"].rsplit("/", 1)[1] for ref in schema.get("oneOf", [schema])]


@pytest.mark.parametrize("path", [f"{WORKFLOWS}/{{name}}", f"{WORKFLOWS}/txt2img"])
def test_describe_and_run_take_a_version_and_save_takes_force(document: dict[str, Any], path: str) -> None:
    item = document["paths"][path]
    for method in ("get", "post"):
        assert "version" in _params(item[method])
        four_hundred = _types(item[method]["responses"]["400"])
        assert "AmbiguousVersion" in four_hundred and len(four_hundred) == len(set(four_hundred))
    assert "force" in _params(item["put"])
    assert _types(item["put"]["responses"]["409"]) == ["ReadOnlyWorkflow", "BreakingChange"]
    assert item["put"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("WorkflowDescription")


def test_the_versions_routes_are_documented(document: dict[str, Any]) -> None:
    listing = document["paths"][f"{WORKFLOWS}/{{name}}/versions"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("VersionList")
    restore = document["paths"][f"{WORKFLOWS}/{{name}}/versions/{{version}}/restore"]["post"]
    assert _params(restore) == ["name", "version", "force"]
    assert set(restore["responses"]) >= {"200", "201", "400", "404", "409"}


def test_saves_and_jobs_show_their_version(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"version", "changes"} <= set(schemas["WorkflowDescription"]["properties"])
    assert schemas["WorkflowDescription"]["properties"]["changes"]["$ref"].endswith("Changes")
    assert "version" in schemas["Job"]["properties"]
    assert schemas["Changes"]["required"] == ["breaking", "compatible", "items"]
