"""The live OpenAPI document of a real ComfyUI: valid, complete, and typed as ComfyUI defines each input."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from aiohttp import web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from support.client import Client
from support.images import png
from support.workflows import TXT2IMG, invert_prompt

from connect.http.routes import register

pytestmark = pytest.mark.e2e

RUN = "/api/connect/workflows/txt2img"
# txt2img's groups, the node each annotates and the inputs its filter exposes (None: every widget).
GROUPS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "model": ("4", None),
    "positive": ("6", None),
    "negative": ("7", ("text",)),
    "latent": ("5", None),
    "sampler": ("3", None),
    "save": ("9", None),
    "init": ("10", None),
    "scale": ("11", ("upscale_method", "width", "height")),
}


def _body_schema(document: dict[str, Any], path: str = RUN) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _from_object_info(entry: list[Any]) -> dict[str, Any]:
    """What the schema must say, read straight from ComfyUI's /object_info entry of the input."""
    kind = entry[0]
    options = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
    if isinstance(kind, list) or kind == "COMBO":
        choices = kind if isinstance(kind, list) else options.get("options")
        return {"type": "string", "enum": choices} if choices else {"type": "string", "not": {}}
    if kind in ("INT", "FLOAT"):
        expected = {"type": "integer" if kind == "INT" else "number", "minimum": options["min"], "maximum": options["max"]}
        step = options.get("step", 1)
        if kind == "INT" and step > 1 and options["min"] % step == 0:
            expected["multipleOf"] = step
        return expected
    return {"type": {"STRING": "string", "BOOLEAN": "boolean"}[kind]}


def test_live_document_is_valid_openapi_3_1(api: Client) -> None:
    document = api.document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_input_is_typed_as_comfyui_defines_it(api: Client) -> None:
    body = _body_schema(api.document())
    assert set(body["properties"]) == {*GROUPS, "keep"}
    assert body["additionalProperties"] is False and "required" not in body
    checked = 0
    for group, (node_id, only) in GROUPS.items():
        node = TXT2IMG[node_id]
        info = api.object_info(node["class_type"])
        declared = {**info["input"]["required"], **info["input"].get("optional", {})}
        widgets = [name for name, value in node["inputs"].items() if not isinstance(value, list)]
        inputs, bypass = body["properties"][group]["oneOf"]
        assert bypass["const"] is False
        assert inputs["additionalProperties"] is False and "required" not in inputs
        assert list(inputs["properties"]) == list(only or widgets), group
        for name, schema in inputs["properties"].items():
            saved = node["inputs"][name]
            typed = schema["anyOf"][0] if "anyOf" in schema else schema
            shown = {k: typed[k] for k in ("type", "minimum", "maximum", "multipleOf", "enum", "not") if k in typed}
            assert shown == _from_object_info(declared[name]), f"{group}.{name}"
            tooltip = declared[name][1].get("tooltip") if len(declared[name]) > 1 else None
            if Draft202012Validator(_from_object_info(declared[name])).is_valid(saved):
                assert schema["default"] == saved and schema["examples"] == [saved], f"{group}.{name}"
                assert schema.get("description") == tooltip, f"{group}.{name}"
            else:  # e.g. the saved checkpoint is not installed: no default its own schema refuses
                assert "default" not in schema and schema["x-comfy"]["saved"] == saved, f"{group}.{name}"
                assert schema["description"].startswith(tooltip or ""), f"{group}.{name}"
            checked += 1
    assert checked == 17


def test_spot_checks_of_what_comfyui_declares(api: Client) -> None:
    groups = _body_schema(api.document())["properties"]
    latent = groups["latent"]["oneOf"][0]["properties"]
    assert (latent["width"]["minimum"], latent["width"]["maximum"], latent["width"]["multipleOf"]) == (16, 16384, 8)
    assert "multipleOf" not in latent["batch_size"]
    sampler = groups["sampler"]["oneOf"][0]["properties"]
    assert sampler["seed"]["maximum"] == 2**64 - 1
    assert sampler["cfg"]["type"] == "number" and "multipleOf" not in sampler["cfg"]
    assert sampler["cfg"]["x-comfy"] == {"class_type": "KSampler", "input": "cfg", "type": "FLOAT", "step": 0.1, "round": 0.01}
    assert {"euler", "dpmpp_2m", "uni_pc"} <= set(sampler["sampler_name"]["enum"])
    assert groups["scale"]["oneOf"][0]["properties"]["upscale_method"]["enum"] == [
        "nearest-exact",
        "bilinear",
        "area",
        "bicubic",
        "lanczos",
    ]
    assert groups["positive"]["oneOf"][0]["properties"]["text"]["x-comfy"]["multiline"] is True


def test_upload_input_takes_an_existing_file_or_a_file_object(api: Client) -> None:
    document = api.document()
    image = _body_schema(document)["properties"]["init"]["oneOf"][0]["properties"]["image"]
    names, file_object = image["anyOf"]
    assert "example.png" in names["enum"]
    assert file_object == {"$ref": "#/components/schemas/FileInput"}
    assert image["default"] == "example.png"
    shapes = [
        document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]] for ref in document["components"]["schemas"]["FileInput"]["oneOf"]
    ]
    assert [s["required"] for s in shapes] == [["type", "content"], ["type", "url"], ["type", "part"]]


def test_empty_filter_accepts_only_false(api: Client) -> None:
    keep = _body_schema(api.document())["properties"]["keep"]
    assert keep["const"] is False and "oneOf" not in keep


def test_request_example_is_the_saved_values(api: Client) -> None:
    media = api.document()["paths"][RUN]["post"]["requestBody"]["content"]["application/json"]
    assert media["example"]["sampler"] == {
        "seed": 1234,
        "steps": 20,
        "cfg": 7.5,
        "sampler_name": "euler",
        "scheduler": "normal",
        "denoise": 1.0,
    }
    assert media["example"]["negative"] == {"text": "blurry"}
    assert "keep" not in media["example"]


def test_a_model_file_added_on_disk_shows_up_without_a_restart(api: Client) -> None:
    def ckpt() -> dict[str, Any]:
        return dict(_body_schema(api.document())["properties"]["model"]["oneOf"][0]["properties"]["ckpt_name"])

    assert "added-while-running.safetensors" not in ckpt().get("enum", [])
    folder = api.server.base / "models" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "added-while-running.safetensors").write_bytes(b"not a model")
    assert "added-while-running.safetensors" in ckpt()["enum"]


def test_document_has_a_validator_and_follows_saves_and_disk_changes(api: Client) -> None:
    first = api.http.get(f"{api.api_url}/openapi.json", timeout=30)
    etag = first.headers["ETag"]
    again = api.http.get(f"{api.api_url}/openapi.json", headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.content == b""

    api.saved("doc-probe/saved", invert_prompt(width=32))
    after_save = api.http.get(f"{api.api_url}/openapi.json", headers={"If-None-Match": etag}, timeout=30)
    assert after_save.status_code == 200 and after_save.headers["ETag"] != etag
    assert "/api/connect/workflows/doc-probe/saved" in after_save.json()["paths"]

    store = api.server.base / "user" / "connect" / "workflows"
    (store / "doc-probe" / "on-disk.json").write_text(json.dumps({"version": 1, "name": "doc-probe/on-disk", "prompt": invert_prompt()}))
    paths = api.document()["paths"]
    assert "/api/connect/workflows/doc-probe/on-disk" in paths
    assert paths["/api/connect/workflows/doc-probe/on-disk"]["post"]["operationId"] == "run_doc_probe_on_disk"

    assert api.http.delete(f"{api.api_url}/workflows/doc-probe/saved", timeout=30).status_code == 204
    (store / "doc-probe" / "on-disk.json").unlink()
    paths = api.document()["paths"]
    assert not [p for p in paths if "doc-probe" in p]


def test_every_registered_route_is_documented_and_every_operation_is_served(api: Client) -> None:
    registered = register(web.RouteTableDef())
    document = api.document()
    for method, path in registered:
        documented = "/api" + path.replace("{name:.+}", "{name}")
        assert method.lower() in document["paths"].get(documented, {}), f"{method} {path} is not in the document"
    served = {(m.lower(), "/api" + p.replace("{name:.+}", "{name}")) for m, p in registered}
    for path, item in document["paths"].items():
        for method in item:
            generic = path if path in (p for _, p in served) else "/api/connect/workflows/{name}"
            assert (method, generic) in served, f"{method.upper()} {path} is documented but not served"


def test_docs_page_serves_swagger_ui_from_the_plugin(api: Client) -> None:
    page = api.http.get(api.api_url, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'url: "connect/openapi.json"' in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert f"connect/docs/{asset}" in page.text
        response = api.http.get(f"{api.api_url}/docs/{asset}", timeout=30)
        assert response.status_code == 200 and len(response.content) > 100, asset
    assert "cdn" not in page.text.lower()


def test_error_responses_are_described_by_status_and_type(api: Client) -> None:
    responses = api.document()["paths"][RUN]["post"]["responses"]
    # 202: the run goes on as a job; 406: a delivery the run cannot give; 429/503: admission.
    assert set(responses) == {"200", "202", "400", "404", "406", "409", "413", "422", "429", "500", "503", "504"}
    schemas = api.document()["components"]["schemas"]
    types_422 = {
        schemas[r["$ref"].rsplit("/", 1)[1]]["properties"]["error"]["properties"]["type"]["const"]
        for r in responses["422"]["content"]["application/json"]["schema"]["oneOf"]
    }
    assert types_422 == {"invalid_payload", "prompt_invalid", "idempotency_key_reused"}
    missing = requests.post(f"{api.api_url}/workflows/no-such-workflow", json={}, timeout=30)
    assert missing.status_code == 404


def test_an_image_added_on_disk_is_accepted_by_the_next_run_at_once(api: Client) -> None:
    # The run path reuses a workflow's compiled schema for a second: a name it refuses is judged again
    # against ComfyUI's list of now, so a file that appeared meanwhile is accepted, not refused.
    api.saved(
        "live/load",
        {
            "1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": {"title": "$load"}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "live"}, "_meta": {"title": "#out"}},
        },
    )
    refused = api.run("live/load", {"load": {"image": "appears-later.png"}})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["problems"][0]["path"] == "load.image"
    (api.server.base / "input" / "appears-later.png").write_bytes(png(color=(0, 0, 255)))
    accepted = api.run("live/load", {"load": {"image": "appears-later.png"}})
    assert accepted.status_code == 200, accepted.text[:300]
