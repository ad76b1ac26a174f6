"""The HTTP surface, end to end: error statuses of the routes themselves and the docs page."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from openapi_spec_validator import validate
from support.client import HTTP_TIMEOUT, Client
from support.errors import assert_error
from support.workflows import assert_still_serving, canvas

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_workflow_is_404(api: Client, method: str) -> None:
    response = requests.request(method, api.workflow_url("routes/absent"), json={}, timeout=HTTP_TIMEOUT)
    error = assert_error(response, 404, "not_found")
    assert "routes/absent" in error["message"]
    assert_still_serving(api)


@pytest.mark.parametrize("body", [b"{bad", b'{"canvas": ', b"\xff\xfe", b"nul\x00"])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_malformed_json_is_400(api: Client, method: str, body: bytes) -> None:
    api.saved("routes/json", canvas())
    response = requests.request(method, api.workflow_url("routes/json"), data=body, timeout=HTTP_TIMEOUT)
    assert_error(response, 400, "invalid_json")
    assert_still_serving(api)


@pytest.mark.parametrize(
    ("body", "type_"),
    [
        pytest.param(b"", "invalid_json", id="empty"),
        pytest.param(b"[]", "bad_request", id="array"),
        pytest.param(b'{"timeout": 5}', "bad_request", id="no-prompt-nor-workflow"),
        pytest.param(b'{"prompt": {}}', "invalid_workflow", id="empty-prompt"),
        pytest.param(b'{"prompt": {"1": {"inputs": {}}}}', "invalid_workflow", id="no-class-type"),
        pytest.param(
            b'{"prompt": {"1": {"class_type": "ImageInvert", "inputs": {"image": ["9", 0]}}}}', "invalid_workflow", id="dangling-link"
        ),
    ],
)
def test_save_refuses_a_body_that_is_not_a_workflow(api: Client, body: bytes, type_: str) -> None:
    response = requests.put(api.workflow_url("routes/not-a-workflow"), data=body, timeout=HTTP_TIMEOUT)
    assert_error(response, 400, type_)


def test_save_refuses_a_ui_workflow_without_nodes_as_unconvertible(api: Client) -> None:
    response = requests.put(api.workflow_url("routes/not-a-workflow"), data=b'{"workflow": {}}', timeout=HTTP_TIMEOUT)
    assert_error(response, 422, "unconvertible_workflow", "nodes")
    assert_error(api.describe("routes/not-a-workflow"), 404, "not_found")


@pytest.mark.parametrize(
    ("payload", "path", "listed"),
    [
        pytest.param({"nope": {}}, "nope", "exposed groups: canvas", id="unknown-group"),
        pytest.param({"canvas": {"batch_size": 2}}, "canvas.batch_size", "exposed: width, color", id="unexposed-input"),
        pytest.param({"canvas": 5}, "canvas", "or false", id="not-an-object"),
        pytest.param({"canvas": {"width": [1, 2]}}, "canvas.width", "expected an integer", id="list-value"),
    ],
)
def test_payload_naming_what_is_not_exposed_is_422(api: Client, payload: dict[str, Any], path: str, listed: str) -> None:
    api.saved("routes/payload", canvas("Canvas $canvas(width,color)"))
    error = assert_error(api.run("routes/payload", payload), 422, "invalid_payload")
    assert error["message"].startswith(f"{path}: ")
    assert listed in error["message"]
    assert [p["path"] for p in error["details"]["problems"]] == [path]
    assert_still_serving(api)


def test_payload_that_is_not_an_object_is_422(api: Client) -> None:
    api.saved("routes/payload", canvas("Canvas $canvas(width,color)"))
    assert_error(api.run("routes/payload", [1]), 422, "invalid_payload")


@pytest.mark.parametrize("timeout", ["abc", "0", "-1", "1e9", "nan"])
def test_bad_timeout_parameter_is_400(api: Client, timeout: str) -> None:
    api.saved("routes/timeout", canvas())
    error = assert_error(api.run("routes/timeout", {}, params={"timeout": timeout}), 400, "bad_request")
    assert "timeout" in error["message"]


def test_routes_are_served_with_and_without_the_api_prefix(api: Client) -> None:
    api.saved("routes/prefix", canvas())
    for prefix in ("/connect", "/api/connect"):
        listed = requests.get(f"{api.url}{prefix}/workflows", timeout=HTTP_TIMEOUT)
        assert listed.status_code == 200
        assert "routes/prefix" in [w["name"] for w in listed.json()["workflows"]]
        ran = requests.post(f"{api.url}{prefix}/workflows/routes/prefix", json={}, timeout=HTTP_TIMEOUT)
        assert ran.status_code == 200, ran.text


def test_docs_page_is_served_with_its_own_assets(api: Client) -> None:
    page = requests.get(f"{api.url}/api/connect", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs, page.text
    for ref in refs:
        assert "//" not in ref, f"{ref} is not served by the plugin (ComfyUI boxes are often offline)"
        asset = requests.get(urljoin(page.url, ref), timeout=HTTP_TIMEOUT)
        assert asset.status_code == 200, ref
        assert asset.content


def test_openapi_document_is_valid_and_lists_every_saved_workflow(api: Client) -> None:
    api.saved("routes/docs", canvas("Canvas $canvas(width,height)", width=32))
    document = requests.get(f"{api.url}/api/connect/openapi.json", timeout=HTTP_TIMEOUT).json()
    validate(document)
    listed = {w["name"] for w in api.listing()["workflows"]}
    documented = {p.removeprefix("/api/connect/workflows/") for p in document["paths"] if p.startswith("/api/connect/workflows/")}
    assert listed <= documented
    run = document["paths"]["/api/connect/workflows/routes/docs"]["post"]
    schema = run["requestBody"]["content"]["application/json"]["schema"]
    canvas_inputs = next(option for option in schema["properties"]["canvas"]["oneOf"] if option.get("type") == "object")
    assert set(canvas_inputs["properties"]) == {"width", "height"}
    assert canvas_inputs["properties"]["width"]["default"] == 32

    api.delete("routes/docs")
    document = requests.get(f"{api.url}/api/connect/openapi.json", timeout=HTTP_TIMEOUT).json()
    assert "/api/connect/workflows/routes/docs" not in document["paths"]


def test_openapi_document_stays_valid_for_names_that_differ_only_in_punctuation(api: Client) -> None:
    names = ("routes/op-id", "routes/op_id", "routes_op/id", "routes_op_id")
    for name in names:
        api.saved(name, canvas())
    try:
        document = requests.get(f"{api.url}/api/connect/openapi.json", timeout=HTTP_TIMEOUT).json()
        validate(document)  # operationIds must be unique
        for name in names:
            assert f"/api/connect/workflows/{name}" in document["paths"]
    finally:
        for name in names:
            api.delete(name)


def test_a_run_answer_splits_its_time_into_the_plugins_share_and_comfyuis(api: Client) -> None:
    api.saved("routes/timing", canvas())
    started = time.perf_counter()
    response = api.run("routes/timing", {"canvas": {"color": 0x102030}})
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    timing = dict(re.findall(r"(\w+);dur=([\d.]+)", response.headers["Server-Timing"]))
    assert set(timing) == {"connect", "comfyui"}
    connect, comfyui = float(timing["connect"]), float(timing["comfyui"])
    # Both shares are real, and together they fit inside what the caller waited.
    assert connect > 0 and comfyui > 0 and connect + comfyui <= elapsed_ms
