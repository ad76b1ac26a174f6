"""Workflows as code, end to end on a real ComfyUI: plain files in CONNECT_WORKFLOWS_DIR (a git
checkout) and ComfyUI's own saved workflows (written through its /userdata API, as the UI saves them)
are endpoints, picked up without a restart; problems are listed; a published endpoint wins a clash."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.client import Client
from support.errors import assert_error
from support.plainfiles import api_prompt, ui_workflow
from support.server import prepare, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflows folder, as a team's git checkout would be (with its .git folder)."""
    folder = tmp_path_factory.mktemp("flows-repo")
    (folder / ".git").mkdir()
    (folder / ".git" / "config.json").write_text("{}")
    return folder


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, repo: Path) -> Iterator[Client]:
    with serve(prepare(tmp_path_factory.mktemp("flows-comfy")), {"CONNECT_WORKFLOWS_DIR": str(repo)}) as client:
        yield client


def write(path: Path, document: Any) -> None:
    """A write as `git pull` makes it; the mtime moves on, however coarse the file system's clock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps(document))
    os.utime(path, ns=(before + 10**9, before + 10**9))


def save_in_comfyui(api: Client, file: str, workflow: dict[str, Any]) -> None:
    """Save as ComfyUI's UI does (Ctrl+S): through its userdata API into the user's workflows folder."""
    response = api.call("POST", "/api/userdata/" + quote("workflows/" + file, safe=""), params={"overwrite": "true"}, json_body=workflow)
    assert response.status_code == 200, response.text


def width(api: Client, name: str, payload: Any = None) -> int:
    images = api.run_ok(name, payload)["out"]
    assert len(images) == 1
    return int(images[0].size[0])


def listed(api: Client) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in api.listing()["workflows"]}


def test_a_ui_file_and_an_api_file_in_the_folder_are_listed_described_and_run(api: Client, repo: Path) -> None:
    write(repo / "portrait.json", ui_workflow(width=24))
    write(repo / "team" / "exported.json", api_prompt(width=40))

    workflows = listed(api)
    assert (workflows["portrait"]["source"], workflows["portrait"]["file"]) == ("folder", "portrait.json")
    assert (workflows["team/exported"]["source"], workflows["team/exported"]["file"]) == ("folder", "team/exported.json")
    assert api.describe("portrait").json()["inputs"]["size"]["inputs"]["width"] == 24
    assert width(api, "portrait") == 24
    assert width(api, "portrait", {"size": {"width": 16}}) == 16
    assert width(api, "team/exported") == 40
    assert "/api/connect/workflows/portrait" in api.document()["paths"]
    assert not any(name.startswith(".git") for name in [*workflows, *api.listing()["errors"]])


def test_a_changed_file_is_picked_up_and_a_removed_one_is_gone(api: Client, repo: Path) -> None:
    write(repo / "changing.json", ui_workflow(width=8))
    assert width(api, "changing") == 8

    write(repo / "changing.json", ui_workflow(width=12))
    assert width(api, "changing") == 12

    (repo / "changing.json").unlink()
    assert_error(api.run("changing"), 404, "not_found")
    assert "changing" not in listed(api)


def test_bad_files_are_listed_with_the_reason_and_not_served(api: Client, repo: Path) -> None:
    write(repo / "broken.json", ui_workflow(class_type="NotInstalledAnywhere"))
    write(repo / "My Flow.json", api_prompt())
    unannotated = api_prompt(title="Canvas")
    unannotated["2"]["_meta"] = {"title": "Save"}
    write(repo / "sketch.json", unannotated)

    errors = api.listing()["errors"]

    assert errors["broken"]["error"]["type"] == "workflow_corrupt"
    assert "NotInstalledAnywhere" in errors["broken"]["error"]["message"]
    assert errors["broken"]["error"]["details"]["cause"]["type"] == "unconvertible_workflow"
    assert errors["My Flow"]["error"]["type"] == "invalid_name"
    assert errors["sketch"]["error"]["type"] == "not_an_endpoint"
    assert_error(api.run("sketch"), 404, "not_an_endpoint", "sketch.json")
    assert_error(api.run("broken"), 500, "workflow_corrupt", "NotInstalledAnywhere")
    for file in ("broken.json", "My Flow.json", "sketch.json"):
        (repo / file).unlink()


def test_the_api_neither_rewrites_nor_deletes_a_folder_file(api: Client, repo: Path) -> None:
    write(repo / "kept.json", ui_workflow(width=8))
    before = (repo / "kept.json").read_bytes()

    assert_error(api.save("kept", api_prompt()), 409, "read_only_workflow", "kept.json")
    assert_error(api.delete("kept"), 409, "read_only_workflow", "kept.json")

    assert (repo / "kept.json").read_bytes() == before
    assert width(api, "kept") == 8


def test_a_comfyui_workflow_with_an_output_is_served_and_one_without_is_not(api: Client) -> None:
    save_in_comfyui(api, "My Flow (2).json", ui_workflow(width=20))
    save_in_comfyui(api, "Just A Sketch.json", ui_workflow(width=20, output="Save Image"))

    workflows = listed(api)
    assert (workflows["my-flow-2"]["source"], workflows["my-flow-2"]["file"]) == ("user", "My Flow (2).json")
    assert width(api, "my-flow-2") == 20
    assert "just-a-sketch" not in workflows
    assert_error(api.run("just-a-sketch"), 404, "not_found")
    assert not any("Sketch" in key for key in api.listing()["errors"])

    save_in_comfyui(api, "My Flow (2).json", ui_workflow(width=28))  # saved again in ComfyUI: picked up
    assert width(api, "my-flow-2") == 28
    assert_error(api.delete("my-flow-2"), 409, "read_only_workflow", "My Flow (2).json")


def test_a_published_endpoint_wins_a_clash_which_is_listed(api: Client) -> None:
    assert api.save("clash-me", api_prompt(width=8)).status_code == 201
    save_in_comfyui(api, "Clash Me.json", ui_workflow(width=32))

    listing = api.listing()

    assert [w["source"] for w in listing["workflows"] if w["name"] == "clash-me"] == ["api"]
    clash = listing["errors"]["user:Clash Me.json"]["error"]
    assert clash["type"] == "name_clash" and clash["details"]["name"] == "clash-me"
    assert width(api, "clash-me") == 8
    assert "Clash Me.json" in api.server.log_path.read_text()


def test_the_setting_off_serves_no_comfyui_workflow(tmp_path: Path) -> None:
    base = prepare(tmp_path / "comfy")
    write(base / "user" / "default" / "workflows" / "flow.json", ui_workflow(width=8))
    with serve(base, {"CONNECT_SERVE_USER_WORKFLOWS": "false"}) as api:
        assert_error(api.run("flow"), 404, "not_found")
        assert api.listing() == {"workflows": [], "errors": {}}
