"""Saved endpoints, end to end: save/list/describe/delete, names, files edited on disk, restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from launcher import free_port
from support.client import HTTP_TIMEOUT, Client
from support.errors import assert_error
from support.images import assert_color, rgb_of
from support.workflows import assert_still_serving, canvas, link, node

pytestmark = pytest.mark.e2e


def test_save_creates_then_replaces_and_delete_removes(api: Client, comfy_base: Path) -> None:
    name = "store/crud"
    created = api.save(name, canvas(color=1), workflow={"nodes": [], "links": [], "version": 0.4})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    replaced = api.save(name, canvas(color=2))
    assert replaced.status_code == 200, replaced.text

    described = api.describe(name)
    assert described.status_code == 200
    assert described.json()["inputs"]["canvas"]["inputs"]["color"] == 2
    assert name in [w["name"] for w in api.listing()["workflows"]]
    stored = json.loads((api.store / "store" / "crud.json").read_text())
    assert stored["prompt"] == canvas(color=2)

    deleted = api.delete(name)
    assert deleted.status_code == 204
    assert not (api.store / "store" / "crud.json").exists()
    assert_error(api.describe(name), 404, "not_found")
    assert_error(api.delete(name), 404, "not_found")
    assert_error(api.run(name), 404, "not_found")
    assert name not in [w["name"] for w in api.listing()["workflows"]]


def test_save_keeps_the_ui_workflow_beside_the_prompt(api: Client, comfy_base: Path) -> None:
    ui = {"last_node_id": 2, "nodes": [{"id": 1, "type": "EmptyImage", "title": "Canvas $canvas"}], "links": [], "version": 0.4}
    api.save("store/with-ui", canvas(), workflow=ui)
    stored = json.loads((api.store / "store" / "with-ui.json").read_text())
    assert stored["workflow"] == ui


def test_describe_shows_inputs_with_saved_values_outputs_bypassable_and_cache_nodes(api: Client) -> None:
    prompt = {
        "1": node("EmptyImage", "Canvas $canvas(width,color) [!cache]", width=16, height=8, batch_size=1, color=0x00FF00),
        "2": node("ImageInvert", "Invert $invert()", image=link("1")),
        "3": node("ImageInvert", "Debug !bypass", image=link("2")),
        "4": node("SaveImage", "Save #result", images=link("3"), filename_prefix="e2e"),
    }
    api.saved("store/described", prompt)
    try:
        described = api.describe("store/described").json()
        assert described["name"] == "store/described"
        assert described["saved_at"]
        assert described["inputs"] == {
            "canvas": {"nodes": ["1"], "inputs": {"width": 16, "color": 0x00FF00}},
            "invert": {"nodes": ["2"], "inputs": {}},
        }
        assert described["outputs"] == {"result": ["4"]}
        assert sorted(described["bypassable"]) == ["canvas", "invert"]
        assert described["bypassed"] == ["3"]
        assert described["cached"] == ["1"]
    finally:
        api.delete("store/described")  # its !cache node would ride along with every later run


@pytest.mark.parametrize("name", ["a", "A-b_9", "team/sub/x", "x" * 64, "a/b/c/d/e"])
def test_names_in_the_allow_list_are_accepted(api: Client, comfy_base: Path, name: str) -> None:
    assert api.save(name, canvas()).status_code in (200, 201)
    assert (api.store / f"{name}.json").is_file()
    assert name in [w["name"] for w in api.listing()["workflows"]]
    assert api.delete(name).status_code == 204


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("%2E%2E/x", id="dotdot-slash"),
        pytest.param("..%2Fx", id="dotdot-encoded-slash"),
        pytest.param("a/%2E%2E/%2E%2E/b", id="dotdot-inside"),
        pytest.param("%2E%2E", id="dotdot"),
        pytest.param("a..b", id="double-dot"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("x.json", id="suffix"),
        pytest.param("a%20b", id="space"),
        pytest.param("a%5Cb", id="backslash"),
        pytest.param("a%00b", id="nul"),
        pytest.param("%C3%A9t%C3%A9", id="non-ascii"),
        pytest.param("a/", id="trailing-slash"),
        pytest.param("a%2F%2Fb", id="empty-part"),
        pytest.param("x" * 65, id="too-long"),
        pytest.param("a/b/c/d/e/f", id="too-deep"),
    ],
)
def test_names_outside_the_allow_list_are_refused(api: Client, comfy_base: Path, raw: str) -> None:
    before = _json_files(comfy_base)
    url = f"{api.url}/api/connect/workflows/{raw}"
    for method in ("PUT", "GET", "POST", "DELETE"):
        response = requests.request(method, url, json={"prompt": canvas()}, timeout=HTTP_TIMEOUT)
        assert_error(response, 400, "invalid_name")
    assert _json_files(comfy_base) == before
    assert_still_serving(api)


def _json_files(base: Path) -> set[Path]:
    return {p for p in base.rglob("*.json") if "custom_nodes" not in p.relative_to(base).parts}


def test_symbolic_links_inside_the_store_are_refused(api: Client, comfy_base: Path, tmp_path: Path) -> None:
    store = api.store / "store"
    store.mkdir(parents=True, exist_ok=True)
    (tmp_path / "outside.json").write_text(json.dumps({"prompt": canvas()}))
    (store / "linked-dir").symlink_to(tmp_path, target_is_directory=True)
    (store / "linked-file.json").symlink_to(tmp_path / "outside.json")
    try:
        assert_error(api.save("store/linked-dir/x", canvas()), 400, "invalid_name")
        assert not (tmp_path / "x.json").exists()
        assert_error(api.describe("store/linked-dir/outside"), 400, "invalid_name")
        assert_error(api.run("store/linked-file"), 400, "invalid_name")
        names = [w["name"] for w in api.listing()["workflows"]]
        assert "store/linked-file" not in names
        assert "store/linked-dir/outside" not in names
    finally:
        (store / "linked-dir").unlink()
        (store / "linked-file.json").unlink()


def test_files_added_or_changed_on_disk_are_picked_up_without_restart(api: Client, comfy_base: Path) -> None:
    path = api.store / "store" / "by-hand.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "name": "store/by-hand", "prompt": canvas(color=0x0000FF)}))
    assert "store/by-hand" in [w["name"] for w in api.listing()["workflows"]]
    (image,) = api.run_ok("store/by-hand")["out"]
    assert_color(image, rgb_of(0x0000FF))

    path.write_text(json.dumps({"version": 1, "name": "store/by-hand", "prompt": canvas(color=0x00FF00, width=5)}))
    assert api.describe("store/by-hand").json()["inputs"]["canvas"]["inputs"]["color"] == 0x00FF00
    (image,) = api.run_ok("store/by-hand")["out"]
    assert image.size == (5, 8)
    assert_color(image, rgb_of(0x00FF00))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="a-directory"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"workflow": {}}', id="no-prompt"),
        pytest.param(b'{"prompt": {"1": {"inputs": {}}}}', id="no-class-type"),
        pytest.param(b'{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {}, "_meta": {"title": "$x("}}}}', id="bad-annotation"),
    ],
)
def test_a_corrupt_file_only_breaks_its_own_endpoint(api: Client, comfy_base: Path, content: bytes | None) -> None:
    api.saved("store/neighbour", canvas(color=0xFF0000))
    path = api.store / "store" / "corrupt.json"
    if content is None:
        path.mkdir()  # something no reader expects: the read fails with an OSError, not a parse error
    else:
        path.write_bytes(content)
    try:
        for response in (api.describe("store/corrupt"), api.run("store/corrupt")):
            error = assert_error(response, 500, "workflow_corrupt")
            assert "store/corrupt" in error["message"]
        listed = api.listing()
        assert "store/corrupt" in listed["errors"]
        assert "store/neighbour" in [w["name"] for w in listed["workflows"]]
        docs = requests.get(f"{api.url}/api/connect/openapi.json", timeout=HTTP_TIMEOUT)
        assert docs.status_code == 200
        assert "/api/connect/workflows/store/neighbour" in docs.json()["paths"]
        (image,) = api.run_ok("store/neighbour")["out"]
        assert_color(image, (255, 0, 0))
    finally:
        if path.is_dir():
            path.rmdir()
        else:
            assert api.delete("store/corrupt").status_code == 204


def test_saved_endpoints_survive_a_restart(strict_api: Client) -> None:
    before = {name: strict_api.saved(name, canvas(color=color)) for name, color in (("kept", 0x112233), ("team/kept", 0x445566))}
    server = strict_api.server
    server.stop()
    server.port = free_port()
    server.start()
    for name, color in (("kept", 0x112233), ("team/kept", 0x445566)):
        # The save's answer is the description plus what the save changed (README "Versions").
        assert {**strict_api.describe(name).json(), "changes": before[name]["changes"]} == before[name]
        (image,) = strict_api.run_ok(name)["out"]
        assert_color(image, rgb_of(color))
    assert_still_serving(strict_api)
