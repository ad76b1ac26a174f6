"""File inputs, end to end: base64 and URL files reach ComfyUI's LoadImage, within limits."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from support.client import HTTP_TIMEOUT, Client
from support.errors import assert_error
from support.filehost import FileHost
from support.images import assert_color, decode, inverted, png, png_b64
from support.suites import MAX_FILE_BYTES
from support.workflows import assert_still_serving, file_input, link, load_invert, node

pytestmark = pytest.mark.e2e


@pytest.fixture
def loader(api: Client) -> str:
    api.saved("files/invert", load_invert())
    return "files/invert"


def _url_input(url: str) -> dict[str, dict[str, dict[str, str]]]:
    return {"load": {"image": {"type": "file", "url": url}}}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda data: base64.b64encode(data).decode(), id="plain"),
        pytest.param(lambda data: "data:image/png;base64," + base64.b64encode(data).decode(), id="data-uri"),
        pytest.param(lambda data: base64.encodebytes(data).decode(), id="line-wrapped"),
    ],
)
def test_base64_file_reaches_the_loader(api: Client, loader: str, encode: Callable[[bytes], str]) -> None:
    color = (10, 200, 30)
    content = encode(png(color, (5, 3)))
    (image,) = api.run_ok(loader, {"load": {"image": file_input(content, "in.png")}})["out"]
    assert image.size == (5, 3)
    assert_color(image, inverted(color))


def test_file_is_stored_under_its_content_hash_inside_the_input_folder(api: Client, loader: str, comfy_base: Path) -> None:
    data = png((1, 2, 3))
    for name in ("escape.png", "passwd.png", None):
        api.run_ok(loader, {"load": {"image": file_input(base64.b64encode(data).decode(), name)}})
    stored = [p for p in (comfy_base / "input" / "connect").iterdir() if p.is_file() and p.read_bytes() == data]
    assert [p.name[:8] for p in stored] == ["connect-"]
    assert not list(comfy_base.rglob("escape.png"))
    # A name that tries to be a path is refused outright (tests/safety has every form).
    for name in ("../../escape.png", "/etc/passwd.png"):
        assert_error(api.run(loader, {"load": {"image": file_input(base64.b64encode(data).decode(), name)}}), 400, "invalid_input_file")
    assert not list(comfy_base.rglob("escape.png"))
    assert not (comfy_base / "etc").exists()


@pytest.mark.parametrize(
    ("published", "name"),
    [
        pytest.param("url.png", None, id="named-by-url"),
        pytest.param("no-suffix", None, id="sniffed"),
        pytest.param("no-suffix-2", "optional.png", id="named-by-caller"),
    ],
)
def test_url_file_reaches_the_loader(api: Client, loader: str, files: FileHost, published: str, name: str | None) -> None:
    color = (250, 128, len(published))
    spec = {"type": "file", "url": files.publish(published, png(color, (6, 2)))}
    if name is not None:
        spec["name"] = name
    (image,) = api.run_ok(loader, {"load": {"image": spec}})["out"]
    assert image.size == (6, 2)
    assert_color(image, inverted(color))


@pytest.mark.parametrize("route", ["redirect", "unsized"])
def test_url_behind_a_redirect_or_without_length(api: Client, loader: str, files: FileHost, route: str) -> None:
    color = (7, 77, 177)
    files.publish(f"{route}.png", png(color))
    (image,) = api.run_ok(loader, _url_input(files.url(f"/{route}/{route}.png")))["out"]
    assert_color(image, inverted(color))


def test_url_download_does_not_block_the_server(api: Client, loader: str, files: FileHost) -> None:
    color = (90, 60, 30)
    files.publish("held.png", png(color))
    files.reset_hold()
    result: dict[str, requests.Response] = {}
    caller = threading.Thread(target=lambda: result.setdefault("run", api.run(loader, _url_input(files.url("/hold/held.png")))))
    caller.start()
    try:
        assert files.held.wait(60), "the plugin never asked for the URL"
        # The download is in flight: ComfyUI and the plugin must still answer.
        assert requests.get(f"{api.url}/system_stats", timeout=HTTP_TIMEOUT).status_code == 200
        assert requests.get(f"{api.url}/api/connect/workflows", timeout=HTTP_TIMEOUT).status_code == 200
        assert "run" not in result
    finally:
        files.release()
        caller.join(HTTP_TIMEOUT)
    assert result["run"].status_code == 200, result["run"].text


def test_url_that_never_answers_times_out(api: Client, loader: str, files: FileHost) -> None:
    files.publish("stalled.png", png((1, 1, 1)))
    files.reset_hold()
    try:
        error = assert_error(api.run(loader, _url_input(files.url("/hold/stalled.png"))), 400, "invalid_input_file")
    finally:
        files.release()
    assert error["details"]["path"] == "load.image"
    assert_still_serving(api)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param({"type": "file", "content": "not base64!"}, "not valid base64", id="bad-base64"),
        pytest.param({"type": "file", "url": "file:///etc/passwd"}, "only absolute http and https", id="file-scheme"),
        pytest.param({"type": "file", "url": "/relative.png"}, "only absolute http and https", id="relative"),
    ],
)
def test_bad_file_object_is_400(api: Client, loader: str, spec: dict[str, Any], match: str) -> None:
    error = assert_error(api.run(loader, {"load": {"image": spec}}), 400, "invalid_input_file")
    assert match in error["message"]
    assert "load.image" in error["message"]


@pytest.mark.parametrize(
    ("spec", "path", "rule"),
    [
        pytest.param({"type": "file", "content": 5}, "load.image.content", "type", id="content-not-a-string"),
        pytest.param({"type": "file"}, "load.image", "oneOf", id="neither"),
        pytest.param({"type": "file", "content": "AAAA", "url": "http://example.com/x.png"}, "load.image", "oneOf", id="both"),
    ],
)
def test_file_object_of_the_wrong_shape_breaks_the_contract(api: Client, loader: str, spec: dict[str, Any], path: str, rule: str) -> None:
    error = assert_error(api.run(loader, {"load": {"image": spec}}), 422, "invalid_payload")
    assert [(p["path"], p["rule"]) for p in error["details"]["problems"]] == [(path, rule)]


def test_url_answering_an_error_status_is_400(api: Client, loader: str, files: FileHost) -> None:
    error = assert_error(api.run(loader, _url_input(files.url("/files/absent.png"))), 400, "invalid_input_file")
    assert "HTTP 404" in error["message"]
    assert_still_serving(api)


def test_file_over_the_size_limit_is_413(api: Client, loader: str, files: FileHost) -> None:
    big = os.urandom(MAX_FILE_BYTES + 1024)
    assert_error(api.run(loader, {"load": {"image": file_input(base64.b64encode(big).decode(), "big.png")}}), 413, "payload_too_large")
    files.publish("big.png", big)
    for route in ("files", "unsized"):
        error = assert_error(api.run(loader, _url_input(files.url(f"/{route}/big.png"))), 413, "payload_too_large")
        assert str(MAX_FILE_BYTES) in error["message"]
    assert_still_serving(api)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("localhost", id="name"),
        pytest.param("2130706433", id="decimal-loopback"),
        pytest.param("127.1", id="short-loopback"),
        pytest.param("0177.0.0.1", id="octal-loopback"),
        pytest.param("0x7f000001", id="hex-loopback"),
        pytest.param("[::1]", id="ipv6-loopback"),
        pytest.param("[::ffff:127.0.0.1]", id="ipv4-mapped"),
        pytest.param("0.0.0.0", id="unspecified"),
        pytest.param("10.0.0.1", id="private"),
        pytest.param("169.254.169.254", id="link-local"),
    ],
)
def test_local_urls_are_refused_by_default(strict_api: Client, files: FileHost, host: str) -> None:
    strict_api.saved("files/invert", load_invert())
    files.publish("ssrf.png", png((5, 5, 5)))
    url = files.url("/files/ssrf.png").replace("127.0.0.1", host)
    error = assert_error(strict_api.run("files/invert", _url_input(url)), 400, "invalid_input_file")
    assert error["details"]["reason"] == "ssrf", error
    assert "CONNECT_ALLOW_PRIVATE_URLS" in error["message"]


def test_the_issue_example_payload_shape(api: Client, files: FileHost) -> None:
    prompt = {
        "1": node("LoadImage", "Load $load-image", image="example.png"),
        "2": node("LoadImage", "Load $load-image-2", image="example.png"),
        "3": node("ImageBatch", "", image1=link("1"), image2=link("2")),
        "4": node("ImageInvert", "Debug $debug-preview()", image=link("3")),
        "5": node("SaveImage", "Save #output", images=link("4"), filename_prefix="e2e"),
    }
    api.saved("files/example", prompt)
    first, second = (1, 2, 3), (4, 5, 6)
    payload = {
        "load-image": {"image": {"type": "file", "content": png_b64(first), "name": "in.png"}},
        "load-image-2": {"image": {"type": "file", "url": files.publish("example-2.png", png(second)), "name": "optional.png"}},
        "debug-preview": False,
    }
    response = api.run("files/example", payload)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["output"]
    images = [decode(item) for item in response.json()["output"]]
    assert len(images) == 2
    assert_color(images[0], first)
    assert_color(images[1], second)
