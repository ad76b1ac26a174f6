"""Run requests are checked against the document's own schema before anything reaches ComfyUI's queue."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from support.client import Client
from support.documents import assert_documented

pytestmark = pytest.mark.e2e

INVERT = "/api/connect/workflows/invert"
TXT2IMG = "/api/connect/workflows/txt2img"


def _history_size(api: Client) -> int:
    response = api.http.get(f"{api.server.url}/history", timeout=30)
    assert response.status_code == 200
    return len(response.json())


def _pixel(encoded: str) -> tuple[int, ...]:
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        return tuple(image.convert("RGB").getpixel((0, 0)))


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        pytest.param({"canvas": {"width": "20"}}, [("canvas.width", "type", "20")], id="string-for-integer"),
        pytest.param({"canvas": {"width": 20.5}}, [("canvas.width", "type", 20.5)], id="fraction-for-integer"),
        pytest.param({"canvas": {"width": 0}}, [("canvas.width", "minimum", 0)], id="below-min"),
        pytest.param({"canvas": {"color": 2**24}}, [("canvas.color", "maximum", 2**24)], id="above-max"),
        pytest.param({"canvas": {"batch_size": 2}}, [("canvas.batch_size", "additionalProperties", 2)], id="input-outside-filter"),
        pytest.param({"canvass": {}}, [("canvass", "additionalProperties", {})], id="unknown-group"),
        pytest.param({"invert": {}}, [("invert", "const", {})], id="empty-filter-takes-only-false"),
        pytest.param({"canvas": True}, [("canvas", "oneOf", True)], id="true-is-not-a-group"),
        pytest.param(
            {"canvas": {"width": 0, "height": "x"}, "nope": 1},
            [("canvas.height", "type", "x"), ("canvas.width", "minimum", 0), ("nope", "additionalProperties", 1)],
            id="all-problems-at-once",
        ),
        pytest.param([1], [("", "type", [1])], id="body-not-an-object"),
    ],
)
def test_bad_request_is_422_with_one_entry_per_problem_and_nothing_queued(
    api: Client, body: Any, problems: list[tuple[str, str, Any]]
) -> None:
    before = _history_size(api)
    response = api.run("invert", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_payload"
    assert [(p["path"], p["rule"], p["value"]) for p in error["details"]["problems"]] == problems
    assert error["message"].startswith(f"{problems[0][0]}: " if problems[0][0] else "")
    assert_documented(api.document(), INVERT, "POST", response)
    assert _history_size(api) == before


def test_problem_names_the_limit(api: Client) -> None:
    [problem] = api.run("invert", {"canvas": {"width": 0}}).json()["error"]["details"]["problems"]
    assert problem == {"path": "canvas.width", "rule": "minimum", "expected": 1, "message": "0 is less than the minimum of 1", "value": 0}


def test_integral_float_is_an_integer_and_runs(api: Client) -> None:
    response = api.run("invert", {"canvas": {"width": 8.0, "height": 4, "color": 0x00FF00}})
    assert response.status_code == 200, response.text
    [encoded] = response.json()["output"]
    assert _pixel(encoded) == (255, 0, 255)
    assert_documented(api.document(), INVERT, "POST", response)


def test_nan_is_not_json(api: Client) -> None:
    response = api.http.post(f"{api.api_url}/workflows/invert", data=b'{"canvas": {"width": NaN}}', timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_json"
    assert_documented(api.document(), INVERT, "POST", response)


def test_combo_outside_the_live_list_is_refused_before_comfyui(api: Client) -> None:
    before = _history_size(api)
    response = api.run("txt2img", {"sampler": {"sampler_name": "warp-drive", "steps": 0}, "model": {"ckpt_name": "nope.safetensors"}})
    assert response.status_code == 422
    problems = {p["path"]: p["rule"] for p in response.json()["error"]["details"]["problems"]}
    assert problems["sampler.sampler_name"] == "enum" and problems["sampler.steps"] == "minimum"
    assert problems["model.ckpt_name"] in ("enum", "not")  # "not" while no checkpoint is installed
    assert_documented(api.document(), TXT2IMG, "POST", response)
    assert _history_size(api) == before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/api/connect/workflows/no-such", 404, id="describe-missing"),
        pytest.param("DELETE", "/api/connect/workflows/no-such", 404, id="delete-missing"),
        pytest.param("GET", "/api/connect/workflows/bad..name", 400, id="bad-name"),
        pytest.param("PUT", "/api/connect/workflows/x", 400, id="save-without-prompt"),
        pytest.param("POST", "/api/connect/workflows/invert?timeout=-1", 400, id="bad-timeout"),
        pytest.param("GET", "/api/connect/docs/nothing.js", 404, id="missing-asset"),
    ],
)
def test_error_answers_match_the_document(api: Client, method: str, path: str, status: int) -> None:
    response = api.http.request(method, api.server.url + path, json={}, timeout=30)
    assert response.status_code == status, response.text
    template = {
        "/api/connect/docs/nothing.js": "/api/connect/docs/{asset}",
        "/api/connect/workflows/invert?timeout=-1": INVERT,
    }.get(path, "/api/connect/workflows/{name}")
    assert_documented(api.document(), template, method, response)
