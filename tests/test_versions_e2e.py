"""Versions of an endpoint and the breaking-change guard, end to end on a real ComfyUI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.client import Client
from support.errors import assert_error
from support.images import assert_color, decode, rgb_of
from support.server import prepare, serve
from support.suites import SETTINGS
from support.workflows import canvas

pytestmark = pytest.mark.e2e

Json = dict[str, Any]


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A server with CONNECT_REFUSE_BREAKING on."""
    base = prepare(tmp_path_factory.mktemp("comfy-refusing"), inputs={})
    with serve(base, {**SETTINGS, "CONNECT_REFUSE_BREAKING": "true"}) as client:
        yield client


def versions(api: Client, name: str) -> Json:
    response = api.call("GET", f"/api/connect/workflows/{name}/versions")
    assert response.status_code == 200, response.text
    return dict(response.json())


def restore(api: Client, name: str, ref: str, params: dict[str, str] | None = None) -> Any:
    return api.call("POST", f"/api/connect/workflows/{name}/versions/{ref}/restore", params=params)


def color_of_run(api: Client, name: str, params: dict[str, str] | None = None, payload: Any = None) -> tuple[Any, Json]:
    response = api.run(name, payload, params=params)
    assert response.status_code == 200, response.text
    job = api.job(response.headers["X-Connect-Job-Id"])
    return decode(response.json()["out"][0]), job


def test_each_new_prompt_is_a_version_and_the_same_one_again_is_not(api: Client) -> None:
    name = "versions/two"
    first = api.saved(name, canvas(color=0x0000FF))
    second = api.saved(name, canvas(color=0x00FF00), workflow={"nodes": [], "links": [], "version": 0.4})
    assert first["version"] != second["version"]
    listed = versions(api, name)
    assert listed["current"] == second["version"]
    assert [(v["version"], v["source"], v["current"]) for v in listed["versions"]] == [
        (second["version"], "ui", True),
        (first["version"], "api", False),
    ]
    assert all(v["short"] == v["version"][:12] for v in listed["versions"])

    again = api.saved(name, canvas(color=0x00FF00))
    assert again["version"] == second["version"]
    assert len(versions(api, name)["versions"]) == 2
    assert api.describe(name).json()["version"] == second["version"]


def test_a_pinned_version_runs_its_own_prompt_and_the_job_says_which(api: Client) -> None:
    name = "versions/pinned"
    old = api.saved(name, canvas(color=0xFF0000))
    new = api.saved(name, canvas(color=0x00FF00))
    image, job = color_of_run(api, name, {"version": old["version"][:8]})
    assert_color(image, rgb_of(0xFF0000))  # the old prompt ran
    assert job["version"] == old["version"]
    image, job = color_of_run(api, name)
    assert_color(image, rgb_of(0x00FF00))
    assert job["version"] == new["version"]
    listed = api.call("GET", "/api/connect/jobs", params={"workflow": name}).json()["jobs"]
    assert {j["version"] for j in listed} == {old["version"], new["version"]}

    described = api.call("GET", f"/api/connect/workflows/{name}", params={"version": old["version"][:6]})
    assert described.status_code == 200, described.text
    assert described.json()["version"] == old["version"]
    assert described.json()["inputs"]["canvas"]["inputs"]["color"] == 0xFF0000


def test_a_pinned_run_is_checked_against_its_versions_contract(api: Client) -> None:
    name = "versions/contract"
    old = api.saved(name, canvas("Canvas $canvas(width,color)"))
    api.saved(name, canvas("Canvas $canvas(width)"))
    # `color` is exposed only by the old version: refused now, accepted pinned.
    assert_error(api.run(name, {"canvas": {"color": 0x0000FF}}), 422, "invalid_payload", "canvas.color")
    image, _ = color_of_run(api, name, {"version": old["version"]}, {"canvas": {"color": 0x0000FF}})
    assert_color(image, rgb_of(0x0000FF))


def test_unknown_and_ambiguous_versions_are_named(api: Client, comfy_base: Path) -> None:
    name = "versions/unknown"
    saved = api.saved(name, canvas(color=1))
    assert_error(api.run(name, params={"version": "0000dead"}), 404, "not_found", "0000dead")
    assert_error(api.run(name, params={"version": "xyz!"}), 400, "bad_request", "version")
    # Two records sharing a prefix (copied in by hand: sha256 prefixes of real prompts rarely collide).
    folder = api.store / ".versions" / "versions" / "unknown"
    record = json.loads((folder / f"{saved['version']}.json").read_text())
    twins = ["abcd" + "1" * 60, "abcd" + "2" * 60]
    for vid in twins:
        (folder / f"{vid}.json").write_text(json.dumps({**record, "id": vid}))
    error = assert_error(api.run(name, params={"version": "abcd"}), 400, "ambiguous_version", "abcd")
    assert error["details"]["candidates"] == twins
    assert_error(restore(api, name, "abcd"), 400, "ambiguous_version")


def test_restore_makes_an_old_version_current_and_reports_the_changes(api: Client) -> None:
    name = "versions/restore"
    old = api.saved(name, canvas("Canvas $canvas(width,color)", color=0xFF0000))
    api.saved(name, canvas("Canvas $canvas(width)", color=0x00FF00))
    restored = restore(api, name, old["version"][:10])
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == old["version"] and body["restored"] == old["version"]
    assert body["operation_id"] == old["operation_id"]  # answered as a PUT is
    assert body["ready"] is True and body["missing"] == []
    assert body["changes"]["breaking"] == [] and body["changes"]["compatible"] == ["canvas.color added"]
    assert versions(api, name)["current"] == old["version"]
    image, _ = color_of_run(api, name)
    assert_color(image, rgb_of(0xFF0000))


def test_delete_keeps_the_versions_and_a_restore_brings_the_endpoint_back(api: Client) -> None:
    name = "versions/deleted"
    saved = api.saved(name, canvas(color=0x0000FF))
    assert api.delete(name).status_code == 204
    assert_error(api.describe(name), 404, "not_found")
    listed = versions(api, name)
    assert listed["current"] is None and [v["version"] for v in listed["versions"]] == [saved["version"]]
    back = restore(api, name, saved["version"])
    assert back.status_code == 201, back.text
    image, _ = color_of_run(api, name)
    assert_color(image, rgb_of(0x0000FF))
    assert_error(api.call("GET", "/api/connect/workflows/versions/never/versions"), 404, "not_found", "versions/never")


def test_a_file_edited_on_disk_is_a_folder_version(api: Client) -> None:
    name = "versions/edited"
    api.saved(name, canvas(color=1))
    path = api.store / "versions" / "edited.json"
    document = json.loads(path.read_text())
    document["prompt"] = canvas(color=2)
    path.write_text(json.dumps(document))
    os.utime(path, ns=(1, 1))  # a stat the store's cache has not seen, even within one clock tick
    listed = versions(api, name)
    assert [v["source"] for v in listed["versions"]] == ["folder", "api"]
    assert listed["versions"][0]["current"] is True


def test_a_save_reports_breaking_and_compatible_changes(api: Client) -> None:
    name = "versions/breaking"
    api.saved(name, canvas("Canvas $canvas(width,height)"))
    new = canvas("Canvas $canvas(width,color)", save_title="Save #image")
    response = api.save(name, new)
    assert response.status_code == 200, response.text
    changes = response.json()["changes"]
    assert changes["breaking"] == ["canvas.height removed", "output out removed"]
    assert_error(
        api.call("PUT", f"/api/connect/workflows/{name}", json_body={"prompt": new}, params={"force": "maybe"}), 400, "bad_request", "force"
    )
    assert changes["compatible"] == ["canvas.color added", "output image added"]
    assert {"path": "canvas.height", "kind": "removed", "breaking": True, "text": "canvas.height removed"} in changes["items"]


def test_a_new_endpoint_has_no_changes(api: Client) -> None:
    response = api.save("versions/fresh", canvas())
    assert response.status_code == 201, response.text
    assert response.json()["changes"] == {"breaking": [], "compatible": [], "items": []}


def test_a_breaking_save_is_refused_with_the_setting_and_accepted_with_force(refusing: Client) -> None:
    name = "versions/guarded"
    first = refusing.saved(name, canvas("Canvas $canvas(width,height)"))
    breaking = canvas("Canvas $canvas(width)")
    error = assert_error(refusing.save(name, breaking), 409, "breaking_change", "canvas.height removed")
    assert error["details"]["breaking"] == ["canvas.height removed"]
    assert refusing.describe(name).json()["version"] == first["version"]  # nothing was saved
    assert len(versions(refusing, name)["versions"]) == 1

    compatible = refusing.save(name, canvas("Canvas $canvas(width,height,color)"))
    assert compatible.status_code == 200, compatible.text

    forced = refusing.call("PUT", f"/api/connect/workflows/{name}", json_body={"prompt": breaking}, params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["changes"]["breaking"] == ["canvas.height removed", "canvas.color removed"]
    # Restoring the first version adds inputs back: compatible, so not refused.
    assert restore(refusing, name, first["version"]).status_code == 200
    # Going back to the narrow one again is refused, unless forced.
    narrow = forced.json()["version"]
    assert_error(restore(refusing, name, narrow), 409, "breaking_change")
    assert restore(refusing, name, narrow, {"force": "1"}).status_code == 200


def test_a_name_part_versions_is_not_a_workflow(api: Client) -> None:
    # No workflow route takes it (ComfyUI's static root has the path for GET, hence 405, not 404).
    assert_error(api.save("team/versions/x", canvas()), 405, "method_not_allowed")
    assert not (api.store / "team" / "versions").exists()
    # The versions paths answer only their own methods.
    for method in ("PUT", "DELETE", "POST"):
        response = api.call(method, "/api/connect/workflows/team/versions", json_body={})
        assert_error(response, 405, "method_not_allowed")
        assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}
    for method in ("GET", "PUT", "DELETE"):
        response = api.call(method, "/api/connect/workflows/team/versions/abcd/restore")
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "POST"
