"""Delivery modes chosen per request, download links, and what is left on disk afterwards."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from support.client import DETAILED_MEDIA, URL_MEDIA, Client, cached_nodes, wait_until
from support.disk import files_in
from support.errors import assert_error
from support.images import pixels

pytestmark = pytest.mark.e2e


def link_folders(server: Client) -> list[Path]:
    return sorted(p for p in server.links.iterdir() if p.is_dir()) if server.links.is_dir() else []


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=60)  # never with a key: the link is the permission


# -- choosing the mode ---------------------------------------------------------------------------------
def test_default_is_base64_json(comfy: Client) -> None:
    response = comfy.run("io-batch")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Connect-Prompt-Id"]
    colors = [tuple(pixels(base64.b64decode(item))[0, 0]) for item in response.json()["out"]]
    assert colors == [(255, 0, 0), (0, 255, 0)]


@pytest.mark.parametrize(
    ("query", "accept", "media"),
    [
        pytest.param("base64", None, "application/json", id="query-base64"),
        pytest.param("url", None, URL_MEDIA, id="query-url"),
        pytest.param("detailed", None, DETAILED_MEDIA, id="query-detailed"),
        pytest.param(None, "application/json", "application/json", id="accept-json"),
        pytest.param(None, "*/*", "application/json", id="accept-any"),
        pytest.param(None, URL_MEDIA, URL_MEDIA, id="accept-url"),
        pytest.param(None, f"{DETAILED_MEDIA}, application/json;q=0.5", DETAILED_MEDIA, id="accept-detailed"),
        pytest.param("base64", "image/png", "application/json", id="query-wins-over-accept"),
    ],
)
def test_json_modes(comfy: Client, query: str | None, accept: str | None, media: str) -> None:
    response = comfy.run("io-batch", output=query, accept=accept)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].split(";")[0] == media
    items = response.json()["out"]
    if media == URL_MEDIA:
        data = [fetch(url).content for url in items]
    elif media == DETAILED_MEDIA:
        data = [base64.b64decode(item["content"]) for item in items]
    else:
        data = [base64.b64decode(item) for item in items]
    assert [tuple(pixels(d)[0, 0]) for d in data] == [(255, 0, 0), (0, 255, 0)]


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        pytest.param("raw", None, id="query"),
        pytest.param(None, "image/png", id="accept-png"),
        pytest.param(None, "image/*", id="accept-image"),
        pytest.param(None, "application/octet-stream", id="accept-octet-stream"),
    ],
)
def test_raw_single_file(comfy: Client, query: str | None, accept: str | None) -> None:
    response = comfy.run("io-image", output=query, accept=accept)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Connect-Output"] == "out"
    assert response.headers["Content-Disposition"].startswith('inline; filename="io-image_')
    assert tuple(pixels(response.content)[0, 0]) == (255, 0, 0)


def test_raw_text(comfy: Client) -> None:
    response = comfy.run("io-text", {"text": {"value": "plain words"}}, output="raw")
    assert (response.status_code, response.headers["Content-Type"], response.text) == (200, "text/plain; charset=utf-8", "plain words")


def test_raw_video(comfy: Client) -> None:
    response = comfy.run("io-webm", accept="video/*")
    assert (response.status_code, response.headers["Content-Type"]) == (200, "video/webm")
    assert response.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska/WebM file


@pytest.mark.parametrize(
    ("workflow", "outputs"),
    [pytest.param("io-batch", {"out": 2}, id="two-files"), pytest.param("io-mixed", {"image": 1, "width": 1}, id="a-file-and-a-value")],
)
def test_raw_needs_exactly_one_output(comfy: Client, workflow: str, outputs: dict[str, int]) -> None:
    error = assert_error(comfy.run(workflow, output="raw"), 406, "not_acceptable")
    assert error["details"]["outputs"] == outputs
    assert files_in(comfy.output) == [] and files_in(comfy.temp) == []  # not delivered, and not left behind either


def test_raw_of_a_type_the_accept_header_refuses(comfy: Client) -> None:
    error = assert_error(comfy.run("io-image", accept="image/jpeg"), 406, "not_acceptable")
    assert error["details"]["mime_type"] == "image/png"


def test_raw_is_refused_before_running_a_workflow_without_outputs(comfy: Client) -> None:
    before = comfy.history_size()
    assert_error(comfy.run("io-none", output="raw"), 406, "not_acceptable")
    assert comfy.history_size() == before  # nothing was queued


def test_unknown_mode_is_400(comfy: Client) -> None:
    error = assert_error(comfy.run("io-image", output="zip"), 400, "bad_request")
    assert error["details"] == {"path": "output"}


# -- what is left on disk ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["base64", "raw", "detailed", "url"])
def test_outputs_do_not_pile_up(comfy: Client, mode: str) -> None:
    for workflow in ("io-image", "io-preview", "io-mp4"):
        response = comfy.run(workflow, output=mode)
        assert response.status_code == 200, response.text[:500]
    assert files_in(comfy.output) == [] and files_in(comfy.temp) == []
    assert not [n for n in files_in(comfy.input) if n.startswith(".connect-")]


def test_url_mode_moves_the_files_to_the_link_folder(comfy: Client) -> None:
    before = set(link_folders(comfy))
    [url] = comfy.run("io-image", output="url").json()["out"]
    [folder] = set(link_folders(comfy)) - before
    assert files_in(comfy.output) == []
    name = url.rsplit("/", 1)[1]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["link.json", name])
    assert url.split("/")[-2] not in folder.name  # the folder is named by the token's hash, not the token
    assert fetch(url).content == (folder / name).read_bytes()


def test_a_cached_run_still_delivers_fresh_files(comfy: Client) -> None:
    payload = {"tone": {"seconds": 0.3}}
    first = comfy.run("io-tone", payload, output="detailed")
    second = comfy.run("io-tone", payload, output="detailed")
    assert first.status_code == second.status_code == 200, second.text[:500]
    a, b = first.json()["out"][0], second.json()["out"][0]
    assert a["content"] == b["content"] and a["duration"] == pytest.approx(0.3)
    # ComfyUI answered the tone generator from its cache, and ran the output node again.
    assert cached_nodes(comfy.history(second.headers["X-Connect-Prompt-Id"])) == ["1"]
    assert files_in(comfy.output) == []


def test_links_need_no_key_and_expire(expiring: Client) -> None:
    assert requests.post(f"{expiring.url}/api/connect/workflows/io-image", timeout=30).status_code == 401
    response = expiring.run("io-batch", output="url")
    assert response.status_code == 200, response.text[:500]
    urls = response.json()["out"]
    assert len(urls) == 2 and len(link_folders(expiring)) == 2
    assert [fetch(url).status_code for url in urls] == [200, 200]
    token, name = urls[0].split("/")[-2:]
    assert_error(fetch(urls[0].replace(token, token[:-2] + "xx")), 404, "not_found")
    assert_error(fetch(urls[0].replace(name, "other.png")), 404, "not_found")
    assert files_in(expiring.output) == []
    # CONNECT_FILE_URL_TTL=2: the links stop working and their files are deleted.
    wait_until(lambda: fetch(urls[0]).status_code == 404 and not link_folders(expiring), 30, "link expiry and cleanup")
    assert_error(fetch(urls[1]), 404, "not_found")


# -- CONNECT_KEEP_OUTPUTS --------------------------------------------------------------------------------
def test_kept_outputs_stay_and_match_what_was_delivered(kept: Client) -> None:
    before = set(files_in(kept.output))
    delivered = {}
    for mode in ("base64", "raw", "detailed", "url"):
        response = kept.run("io-image", output=mode)
        assert response.status_code == 200, response.text[:500]
        if mode == "raw":
            data, name = response.content, response.headers["Content-Disposition"].split('"')[1]
        elif mode == "url":
            url = response.json()["out"][0]
            data, name = fetch(url).content, url.rsplit("/", 1)[1]
        elif mode == "detailed":
            item = response.json()["out"][0]
            data, name = base64.b64decode(item["content"]), item["filename"]
        else:
            data, name = base64.b64decode(response.json()["out"][0]), None
        delivered[mode] = (data, name)
    # Nothing is deleted, so the identical calls after the first are answered from ComfyUI's cache
    # (as its own page would be): one file, kept, and delivered byte for byte by every mode.
    [written] = sorted(set(files_in(kept.output)) - before)
    for mode, (data, name) in delivered.items():
        assert data == (kept.output / written).read_bytes(), mode
        assert name in (None, written.rsplit("/", 1)[-1]), mode


def test_kept_outputs_survive_link_expiry(kept: Client) -> None:
    [url] = kept.run("io-image", output="url").json()["out"]
    name = url.rsplit("/", 1)[1]
    assert (kept.output / name).is_file()
    wait_until(lambda: fetch(url).status_code == 404 and not link_folders(kept), 30, "link expiry and cleanup")
    assert (kept.output / name).is_file()


# -- the document describes every answer -----------------------------------------------------------------
def document(server: Client) -> dict[str, Any]:
    response = requests.get(f"{server.url}/api/connect/openapi.json", timeout=30)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def check(doc: dict[str, Any], path: str, status: int, media: str, body: Any) -> None:
    operation = doc["paths"][path]["post" if "workflows" in path else "get"]
    schema = {**operation["responses"][str(status)]["content"][media]["schema"], "components": doc["components"]}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(body)]
    assert not errors, errors


def test_the_document_describes_each_mode_and_the_multipart_body(comfy: Client) -> None:
    doc = document(comfy)
    run = doc["paths"]["/api/connect/workflows/io-mixed"]["post"]
    assert {"timeout", "output"} <= {p["name"] for p in run["parameters"]}
    assert set(run["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert run["requestBody"]["content"]["multipart/form-data"]["encoding"] == {"payload": {"contentType": "application/json"}}
    assert {"application/json", URL_MEDIA, DETAILED_MEDIA, "image/*", "video/*", "audio/*"} <= set(run["responses"]["200"]["content"])
    assert "406" in run["responses"]
    assert doc["paths"]["/api/connect/files/{token}/{name}"]["get"]["operationId"] == "download_file"
    path = "/api/connect/workflows/io-mixed"
    for mode, media in (("base64", "application/json"), ("url", URL_MEDIA), ("detailed", DETAILED_MEDIA)):
        check(doc, path, 200, media, comfy.run("io-mixed", output=mode).json())
    check(doc, path, 406, "application/json", comfy.run("io-mixed", output="raw").json())
    check(doc, "/api/connect/workflows/io-text", 200, DETAILED_MEDIA, comfy.run("io-text", output="detailed").json())


def test_the_files_route_is_public_in_a_secured_document(expiring: Client) -> None:
    headers = {"Authorization": f"Bearer {expiring.key}"}
    doc = requests.get(f"{expiring.url}/api/connect/openapi.json", headers=headers, timeout=30).json()
    operation = doc["paths"]["/api/connect/files/{token}/{name}"]["get"]
    assert operation["security"] == [] and "401" not in operation["responses"]
    assert "401" in doc["paths"]["/api/connect/workflows/io-image"]["post"]["responses"]
