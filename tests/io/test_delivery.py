from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from support.images import png

from connect.comfy.outcome import RunResult
from connect.errors import BadRequest, ExecutionFailed, NotAcceptable
from connect.io.delivery import Choice, Delivery, Mode, choose, choose_again, matches, media_ranges
from connect.io.links import FileLinks
from connect.io.render import encode_json


# -- choosing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (None, None, Choice(Mode.BASE64)),
        (None, "*/*", Choice(Mode.BASE64)),
        (None, "application/json", Choice(Mode.BASE64)),
        (None, "application/*", Choice(Mode.BASE64)),
        (None, "application/vnd.comfyui-connect.url+json", Choice(Mode.URL)),
        (None, "application/vnd.comfyui-connect.detailed+json", Choice(Mode.DETAILED)),
        (None, "image/png", Choice(Mode.RAW, ("image/png",))),
        (None, "image/png;q=0.4, image/webp", Choice(Mode.RAW, ("image/webp", "image/png"))),
        (None, "application/json;q=0.1, video/*", Choice(Mode.RAW, ("video/*", "application/json"))),
        (None, "image/png;q=0, application/json", Choice(Mode.BASE64)),
        ("raw", "application/json", Choice(Mode.RAW)),
        ("url", "image/png", Choice(Mode.URL)),
        ("detailed", None, Choice(Mode.DETAILED)),
    ],
)
def test_choose(query: str | None, accept: str | None, expected: Choice) -> None:
    assert choose(query, accept) == expected


def test_choose_refuses_an_unknown_mode() -> None:
    with pytest.raises(BadRequest, match="base64, url, raw, detailed") as caught:
        choose("zip", None)
    assert caught.value.details == {"path": "output"}


def test_media_ranges_are_ordered_by_preference_then_position() -> None:
    assert media_ranges("a/b;q=0.5, c/d, e/f;q=0.5;level=1, g/h;q=oops, ") == ["c/d", "a/b", "e/f"]


@pytest.mark.parametrize(
    ("mime", "ranges", "ok"),
    [
        ("image/png", ("image/png",), True),
        ("image/png", ("image/*",), True),
        ("image/png", ("*/*",), True),
        ("video/webm", ("application/octet-stream",), True),
        ("image/png", ("image/jpeg", "video/*"), False),
    ],
)
def test_matches(mime: str, ranges: tuple[str, ...], ok: bool) -> None:
    assert matches(mime, ranges) is ok


# -- rendering ------------------------------------------------------------------------------------------
class Folders:
    def __init__(self, root: Path) -> None:
        self.root = root
        for kind in ("output", "temp", "input"):
            (root / kind).mkdir(parents=True)

    def __call__(self, kind: str) -> Path | None:
        return self.root / kind if kind in ("output", "temp", "input") else None

    def write(self, kind: str, name: str, data: bytes, mtime: float | None = None) -> dict[str, str]:
        path = self.root / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        subfolder, _, filename = name.rpartition("/")
        return {"filename": filename, "subfolder": subfolder, "type": kind}

    def files(self, kind: str) -> list[str]:
        return sorted(p.relative_to(self.root / kind).as_posix() for p in (self.root / kind).rglob("*") if p.is_file())


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    return Folders(tmp_path / "comfy")


def delivery(folders: Folders, tmp_path: Path, keep: bool = False, public_url: str = "") -> Delivery:
    return Delivery(folders, FileLinks(tmp_path / "links", 60), keep, public_url)


def result(outputs: dict[str, Any], started: float | None = None) -> RunResult:
    # As ComfyUI stamps execution_start: whole milliseconds.
    return RunResult("p1", outputs, started=None if started is None else int(started * 1000) / 1000)


def render(target: Delivery, run: RunResult, names: dict[str, tuple[str, ...]], choice: Choice, **kwargs: Any) -> web.Response:
    request = make_mocked_request("POST", "/api/connect/workflows/x", headers={"Host": "comfy.test:8188"})
    return asyncio.run(target.render(run, names, choice, request, **kwargs))


def body(response: web.Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


RED, GREEN = png(color=(255, 0, 0)), png(color=(0, 255, 0))
A_PNG = {"filename": "a.png", "subfolder": "", "type": "output"}


def test_base64_with_values_in_node_order_and_files_deleted(folders: Folders, tmp_path: Path) -> None:
    ui = {
        "9": {"images": [folders.write("output", "a.png", RED), folders.write("output", "b.png", GREEN)], "animated": [False]},
        "4": {"text": ("hello",)},
        "5": {"images": [folders.write("temp", "p.png", RED)]},
    }
    response = render(delivery(folders, tmp_path), result(ui, time.time()), {"out": ("9", "4"), "preview": ("5",)}, Choice(Mode.BASE64))
    assert response.content_type == "application/json"
    assert response.headers["X-Connect-Prompt-Id"] == "p1"
    assert body(response) == {
        "out": [base64.b64encode(RED).decode(), base64.b64encode(GREEN).decode(), {"text": "hello"}],
        "preview": [base64.b64encode(RED).decode()],
    }
    assert folders.files("output") == folders.files("temp") == []


def test_keep_leaves_files(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}}
    render(delivery(folders, tmp_path, keep=True), result(ui), {"out": ("9",)}, Choice(Mode.BASE64))
    assert folders.files("output") == ["a.png"]


def test_only_files_this_run_wrote_are_deleted(folders: Folders, tmp_path: Path) -> None:
    started = time.time()
    ui = {
        "9": {
            "images": [
                folders.write("output", "old.png", RED, mtime=started - 3600),  # a file the node only points at
                folders.write("output", "sub/new.png", GREEN),
                folders.write("input", "in.png", RED),  # never ComfyUI's input folder
            ]
        }
    }
    render(delivery(folders, tmp_path), result(ui, started), {"out": ("9",)}, Choice(Mode.BASE64))
    assert folders.files("output") == ["old.png"]
    assert folders.files("input") == ["in.png"]


def test_render_without_consuming_then_discard(folders: Folders, tmp_path: Path) -> None:
    target = delivery(folders, tmp_path)
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}}
    run = result(ui)
    for _ in range(2):  # e.g. a job's result fetched twice
        assert body(render(target, run, {"out": ("9",)}, Choice(Mode.BASE64), consume=False))["out"]
    assert folders.files("output") == ["a.png"]
    target.discard(run, {"out": ("9",)})
    assert folders.files("output") == []
    target.discard(run, {"out": ("9",)})  # twice is harmless


def test_detailed(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [folders.write("output", "sub/a.png", RED)]}, "4": {"text": ["hi"]}}
    response = render(delivery(folders, tmp_path), result(ui), {"out": ("9", "4")}, Choice(Mode.DETAILED))
    assert response.content_type == "application/vnd.comfyui-connect.detailed+json"
    image, text = body(response)["out"]
    assert image == {
        "type": "file",
        "filename": "a.png",
        "subfolder": "sub",
        "folder": "output",
        "mime_type": "image/png",
        "kind": "image",
        "size": len(RED),
        "width": 8,
        "height": 8,
        "frames": 1,
        "duration": None,
        "content": base64.b64encode(RED).decode(),
    }
    assert text == {"type": "value", "key": "text", "value": "hi"}


@pytest.mark.parametrize(("public_url", "base"), [("", "http://comfy.test:8188"), ("https://api.example/", "https://api.example")])
def test_url_mode_moves_files_into_links(folders: Folders, tmp_path: Path, public_url: str, base: str) -> None:
    target = delivery(folders, tmp_path, public_url=public_url)
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}, "4": {"text": ["hi"]}}
    response = render(target, result(ui), {"out": ("9", "4")}, Choice(Mode.URL))
    url, text = body(response)["out"]
    assert text == {"text": "hi"}
    prefix = f"{base}/api/connect/files/"
    assert url.startswith(prefix) and url.endswith("/a.png")
    token = url[len(prefix) :].split("/")[0]
    link = target.links.lookup(token, "a.png")
    assert link is not None and link.path.read_bytes() == RED
    assert folders.files("output") == []


def test_url_mode_with_keep_copies(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}}
    render(delivery(folders, tmp_path, keep=True), result(ui), {"out": ("9",)}, Choice(Mode.URL))
    assert folders.files("output") == ["a.png"]


def test_raw_one_file(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [folders.write("output", "ünï.png", RED)]}}
    response = render(delivery(folders, tmp_path), result(ui), {"out": ("9",)}, Choice(Mode.RAW, ("image/*",)))
    assert (response.body, response.content_type, response.headers["X-Connect-Output"]) == (RED, "image/png", "out")
    assert response.headers["Content-Disposition"] == "inline; filename=\"_n_.png\"; filename*=UTF-8''%C3%BCn%C3%AF.png"
    assert folders.files("output") == []


def test_raw_text(folders: Folders, tmp_path: Path) -> None:
    response = render(delivery(folders, tmp_path), result({"4": {"text": ["hi"]}}), {"t": ("4",)}, Choice(Mode.RAW))
    assert (response.text, response.content_type, response.charset) == ("hi", "text/plain", "utf-8")


@pytest.mark.parametrize(
    ("ui", "choice", "details"),
    [
        ({"9": {"images": []}}, Choice(Mode.RAW), {"outputs": {"out": 0}}),
        ({"9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}] * 2}}, Choice(Mode.RAW), {"outputs": {"out": 2}}),
        (
            {"9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}},
            Choice(Mode.RAW, ("image/jpeg",)),
            {"mime_type": "image/png"},
        ),
    ],
)
def test_raw_refusals_are_406_and_still_clean_up(folders: Folders, tmp_path: Path, ui: Any, choice: Choice, details: Any) -> None:
    folders.write("output", "a.png", RED)
    with pytest.raises(NotAcceptable) as caught:
        render(delivery(folders, tmp_path), result(ui), {"out": ("9",)}, choice)
    assert caught.value.status == 406 and caught.value.details == details
    if ui["9"]["images"]:
        assert folders.files("output") == []


def test_raw_is_refused_up_front_without_outputs(folders: Folders, tmp_path: Path) -> None:
    with pytest.raises(NotAcceptable):
        delivery(folders, tmp_path).check_possible(Choice(Mode.RAW), {})
    delivery(folders, tmp_path).check_possible(Choice(Mode.BASE64), {})


def test_a_missing_file_is_an_error_not_an_empty_answer(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [{"filename": "gone.png", "subfolder": "", "type": "output"}, folders.write("output", "a.png", RED)]}}
    with pytest.raises(ExecutionFailed, match="missing"):
        render(delivery(folders, tmp_path), result(ui), {"out": ("9",)}, Choice(Mode.BASE64))
    assert folders.files("output") == []  # the run's other files are still cleaned up


def test_download(folders: Folders, tmp_path: Path) -> None:
    target = delivery(folders, tmp_path)
    folders.write("output", "a.png", RED)
    token = target.links.publish(folders.root / "output" / "a.png", "a.png", "image/png", move=True)
    request = make_mocked_request("GET", f"/api/connect/files/{token}/a.png", match_info={"token": token, "name": "a.png"})
    response = asyncio.run(target.download(request))
    assert isinstance(response, web.FileResponse)
    assert response.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("mode", [Mode.BASE64, Mode.RAW])
def test_small_and_large_outputs_render_alike(folders: Folders, tmp_path: Path, mode: Mode) -> None:
    # Up to 64 KiB is read on the event loop, more in a worker thread: the answer must not tell.
    for size in (1_000, 300_000):
        data = os.urandom(size)
        ui = {"9": {"images": [folders.write("output", "a.png", data)]}}
        response = render(delivery(folders, tmp_path), result(ui, time.time()), {"out": ("9",)}, Choice(mode))
        assert response.body == (data if mode is Mode.RAW else json.dumps({"out": [base64.b64encode(data).decode()]}).encode())
        assert folders.files("output") == []


# -- a job's outputs (GET of the job, its webhook) -------------------------------------------------------
def job_outputs(target: Delivery, run: RunResult, names: dict[str, tuple[str, ...]], choice: Choice) -> Any:
    rendered = asyncio.run(target.job_outputs(run, names, choice))
    return None if rendered is None else json.loads(encode_json(rendered))


@pytest.mark.parametrize("mode", [Mode.BASE64, Mode.URL, Mode.DETAILED])
def test_a_job_shows_its_outputs_as_the_run_call_does_and_keeps_its_files(folders: Folders, tmp_path: Path, mode: Mode) -> None:
    target = delivery(folders, tmp_path)
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}, "4": {"text": ["hi"]}}
    shown = job_outputs(target, result(ui), {"out": ("9", "4")}, Choice(mode, base="http://comfy.test:8188"))
    assert folders.files("output") == ["a.png"]  # GET may come again; the job's results expire later
    run_call = body(render(target, result(ui), {"out": ("9", "4")}, Choice(mode)))
    if mode is Mode.URL:  # each call publishes its own link to the same bytes
        url = shown["out"][0]
        assert url.startswith("http://comfy.test:8188/api/connect/files/") and run_call["out"][0].endswith("/a.png")
        link = target.links.lookup(*url.split("/")[-2:])
        assert link is not None and link.path.read_bytes() == RED
        assert shown["out"][1] == run_call["out"][1] == {"text": "hi"}
    else:
        assert shown == run_call


def test_a_raw_job_shows_url_links(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [folders.write("output", "a.png", RED)]}}
    shown = job_outputs(delivery(folders, tmp_path), result(ui), {"out": ("9",)}, Choice(Mode.RAW, ("image/*",), "http://h"))
    (url,) = shown["out"]
    assert url.startswith("http://h/api/connect/files/") and url.endswith("/a.png")


def test_a_job_whose_files_are_gone_shows_none(folders: Folders, tmp_path: Path) -> None:
    ui = {"9": {"images": [{"filename": "gone.png", "subfolder": "", "type": "output"}]}}
    assert job_outputs(delivery(folders, tmp_path), result(ui), {"out": ("9",)}, Choice(Mode.BASE64)) is None


@pytest.mark.parametrize(
    ("query", "kept", "expected"),
    [
        pytest.param(None, Choice(Mode.URL, base="http://run"), Choice(Mode.URL, base="http://run"), id="as-the-run-chose"),
        pytest.param(None, Choice(Mode.RAW, ("image/png",)), Choice(Mode.RAW, ("image/png",)), id="raw-kept-shown-as-url-later"),
        pytest.param("base64", Choice(Mode.URL), Choice(Mode.BASE64), id="override"),
        pytest.param("detailed", Choice(Mode.BASE64), Choice(Mode.DETAILED), id="override-detailed"),
    ],
)
def test_choose_again(query: str | None, kept: Choice, expected: Choice) -> None:
    assert choose_again(query, kept) == expected


@pytest.mark.parametrize("query", ["raw", "zip", ""])
def test_choose_again_refuses_what_is_not_a_json_mode(query: str) -> None:
    with pytest.raises(BadRequest, match="base64, url, detailed") as caught:
        choose_again(query, Choice(Mode.BASE64))
    assert caught.value.details == {"path": "output"}


def test_the_choice_of_a_request_carries_where_links_start(folders: Folders, tmp_path: Path) -> None:
    request = make_mocked_request("GET", "/api/connect/jobs/j?output=url", headers={"Host": "comfy.test:8188"})
    assert delivery(folders, tmp_path).choose_again(request, Choice(Mode.BASE64)) == Choice(Mode.URL, base="http://comfy.test:8188")
    assert delivery(folders, tmp_path, public_url="https://api.example/").choose(request).base == "https://api.example"
