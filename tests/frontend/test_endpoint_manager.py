"""web/js/endpoint_manager.js: the sidebar tab lists, shows and deletes endpoints."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request

from launcher import ComfyServer
from playwright.sync_api import expect
from support.uiformat import UIGraph

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, WAIT_MS, ComfyPage, inverted, only_pixel, server_call


def annotated(titles: dict[str, str]) -> dict[str, object]:
    return {node_id: {**node, "_meta": {"title": titles[node_id]}} for node_id, node in INVERT_PROMPT.items()}


def ui_format(titles: dict[str, str]) -> dict[str, object]:
    """INVERT_PROMPT as ComfyUI's Ctrl+S saves it, with these titles."""
    ui = UIGraph()
    canvas = ui.node(1, "EmptyImage", [16, 16, 1, 0xFF0000], outputs=["IMAGE"], title=titles["1"])
    invert = ui.node(2, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"], title=titles["2"])
    save = ui.node(3, "SaveImage", ["connect-ui"], inputs=[("images", "IMAGE")], title=titles["3"])
    ui.link(canvas, 0, invert, 0)
    ui.link(invert, 0, save, 0)
    return ui.saved()


def test_manager_lists_shows_and_deletes(ui: ComfyPage, comfy: ComfyServer) -> None:
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/mgr-full", {"prompt": annotated(ANNOTATED_TITLES)})[0] in (200, 201)
    # A name differing only in punctuation: the docs operation ids of the two are numbered apart.
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/mgr_full", {"prompt": annotated(ANNOTATED_TITLES)})[0] in (200, 201)
    load = {"class_type": "LoadImage", "inputs": {"image": "mgr-absent.png"}, "_meta": {"title": "In"}}
    unready_prompt = {**annotated(ANNOTATED_TITLES), "1": load}  # an input file this box does not have
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/mgr-unready", {"prompt": unready_prompt})[0] in (200, 201)
    no_output = annotated({**ANNOTATED_TITLES, "3": "Save"})
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/mgr-no-output", {"prompt": no_output})[0] in (200, 201)
    # A stored file edited by hand into an invalid annotation: listed as unusable, with why.
    store = comfy.base / "user" / "connect" / "workflows"
    broken = {"version": 1, "name": "mgr-broken", "prompt": annotated({**ANNOTATED_TITLES, "2": "Invert $x("})}
    (store / "mgr-broken.json").write_text(json.dumps(broken))

    manager = ui.open_manager()

    full = manager.locator('[data-connect-endpoint="mgr-full"]')
    full.locator("summary").click()
    expect(full.locator('[data-connect-input="canvas"]')).to_contain_text("width = 16")
    expect(full.locator('[data-connect-input="canvas"]')).to_contain_text("color = 16711680")
    expect(full.locator('[data-connect-input="invert"]')).to_contain_text("can be bypassed")
    expect(full.locator('[data-connect-output="output"]')).to_contain_text("node 3")
    expect(full.locator(".connect-warning")).to_have_count(0)

    quiet = manager.locator('[data-connect-endpoint="mgr-no-output"]')
    quiet.locator("summary").click()
    expect(quiet.locator(".connect-warning")).to_contain_text("No #output node")

    unready = manager.locator('[data-connect-endpoint="mgr-unready"]')
    unready.locator("summary").click()
    expect(unready.locator(".connect-warning")).to_contain_text("Not ready on this box: missing: input file mgr-absent.png (node 1)")

    _, listing = server_call(comfy.url, "GET", "/api/connect/workflows")
    expect(manager.locator('[data-connect-endpoint="mgr-broken"]')).to_contain_text(listing["errors"]["mgr-broken"]["error"]["message"])

    # The docs link opens the endpoint's own operation on the interactive docs page, by the id the
    # server's document gives it: "mgr_full" is run_mgr_full_2 there, not what its name would spell.
    _, document = server_call(comfy.url, "GET", "/api/connect/openapi.json")
    twin = manager.locator('[data-connect-endpoint="mgr_full"]')
    twin.locator("summary").click()
    for view, name, operation_id in ((full, "mgr-full", "run_mgr_full"), (twin, "mgr_full", "run_mgr_full_2")):
        assert document["paths"][f"/api/connect/workflows/{name}"]["post"]["operationId"] == operation_id
        href = view.get_by_role("link", name="Docs").get_attribute("href")
        assert href is not None
        page_url, _, fragment = href.partition("#")
        assert fragment == f"/workflows/{operation_id}"
    with urllib.request.urlopen(page_url, timeout=30) as docs:
        assert docs.status == 200 and "swagger" in docs.read().decode().lower()
    assert server_call(comfy.url, "DELETE", "/api/connect/workflows/mgr_full")[0] == 204

    # The curl example is a real call: run it as shown, and copy it.
    curl = full.locator(".connect-curl").inner_text()
    done = subprocess.run(["bash", "-c", curl + " --silent --show-error --fail"], capture_output=True, text=True, timeout=120, check=True)
    assert [only_pixel(png) for png in json.loads(done.stdout)["output"]] == [((16, 16), inverted(0xFF0000))]
    full.get_by_role("button", name="Copy curl").click()
    ui.expect_toast("curl command copied")
    assert ui.js("() => navigator.clipboard.readText()") == curl

    # Delete asks first, then the endpoint is gone from the list and from the server.
    full.locator("[data-connect-delete]").click()
    ui.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    ui.expect_toast('Endpoint "mgr-full" deleted')
    expect(full).to_have_count(0, timeout=WAIT_MS)
    assert server_call(comfy.url, "GET", "/api/connect/workflows/mgr-full")[0] == 404
    expect(quiet).to_have_count(1)
    (store / "mgr-broken.json").unlink()


def test_manager_follows_saves_and_shows_the_open_workflow(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "mgr-live")
    ui.set_titles({**ANNOTATED_TITLES, "2": "Invert !bypass"})
    manager = ui.open_manager()
    current = manager.locator(".connect-current")
    expect(current).to_contain_text("Not published yet")
    expect(current.locator('[data-connect-node="1"]')).to_contain_text("in canvas(width,height,color)")
    expect(current.locator('[data-connect-node="2"]')).to_contain_text("bypass")
    expect(current.locator('[data-connect-node="3"]')).to_contain_text("out output")
    ui.set_titles({"3": "Save #image"})  # the list follows edits of the graph
    expect(current.locator('[data-connect-node="3"]')).to_contain_text("out image")

    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("mgr-live")
    ui.expect_toast('Endpoint "mgr-live" saved')
    entry = manager.locator('[data-connect-endpoint="mgr-live"]')
    expect(entry).to_have_count(1, timeout=WAIT_MS)
    expect(current.locator('[data-connect-current="mgr-live"]')).to_have_count(1)
    entry.locator("summary").click()
    expect(entry).to_contain_text("Bypassed in the API: node 2")
    expect(entry.locator('[data-connect-output="image"]')).to_have_count(1)

    name = urllib.parse.quote("mgr-live")
    assert server_call(comfy.url, "GET", f"/api/connect/workflows/{name}")[1]["bypassed"] == ["2"]


def test_list_and_describe_give_the_documents_run_operation_ids(comfy: ComfyServer) -> None:
    """The ids the docs links use: the OpenAPI document's, also for names one identifier can't tell apart."""
    names = ("opid/a-b", "opid/a_b", "opid_a/b")
    saved = {}
    for name in names:
        status, saved[name] = server_call(comfy.url, "PUT", f"/api/connect/workflows/{name}", {"prompt": annotated(ANNOTATED_TITLES)})
        assert status in (200, 201)
    try:
        _, document = server_call(comfy.url, "GET", "/api/connect/openapi.json")
        documented = {name: document["paths"][f"/api/connect/workflows/{name}"]["post"]["operationId"] for name in names}
        # Sorted, "opid/a-b" comes first and keeps the plain id; the other two are numbered.
        assert documented == {"opid/a-b": "run_opid_a_b", "opid/a_b": "run_opid_a_b_2", "opid_a/b": "run_opid_a_b_3"}
        _, listing = server_call(comfy.url, "GET", "/api/connect/workflows")
        listed = {w["name"]: w["operation_id"] for w in listing["workflows"] if w["name"] in names}
        described = {name: server_call(comfy.url, "GET", f"/api/connect/workflows/{name}")[1]["operation_id"] for name in names}
        assert listed == described == documented
        # The answer to the last save already knows the ids the earlier saves took.
        assert saved["opid_a/b"]["operation_id"] == documented["opid_a/b"]
    finally:
        for name in names:
            server_call(comfy.url, "DELETE", f"/api/connect/workflows/{name}")


def test_manager_shows_where_endpoints_come_from_and_the_files_not_served(ui: ComfyPage, comfy: ComfyServer) -> None:
    folder = comfy.base / "user" / "connect" / "workflows"  # CONNECT_WORKFLOWS_DIR's default
    user_flows = comfy.base / "user" / "default" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    user_flows.mkdir(parents=True, exist_ok=True)
    (folder / "mgr-plain.json").write_text(json.dumps(annotated(ANNOTATED_TITLES)))  # an "Export (API)" file
    (user_flows / "Mgr Mine.json").write_text(json.dumps(ui_format(ANNOTATED_TITLES)))
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/mgr-taken", {"prompt": annotated(ANNOTATED_TITLES)})[0] in (200, 201)
    (user_flows / "Mgr Taken.json").write_text(json.dumps(ui_format(ANNOTATED_TITLES)))
    try:
        manager = ui.open_manager()

        plain = manager.locator('[data-connect-endpoint="mgr-plain"]')
        expect(plain.locator('[data-connect-source="folder"]')).to_have_count(1)
        plain.locator("summary").click()
        expect(plain.locator("[data-connect-origin]")).to_contain_text("mgr-plain.json in the workflows folder")
        expect(plain.locator("[data-connect-delete]")).to_have_count(0)
        mine = manager.locator('[data-connect-endpoint="mgr-mine"]')
        expect(mine.locator('[data-connect-source="user"]')).to_have_count(1)
        mine.locator("summary").click()
        expect(mine.locator("[data-connect-origin]")).to_contain_text("Mgr Mine.json")
        expect(mine.locator("[data-connect-delete]")).to_have_count(0)
        taken = manager.locator('[data-connect-endpoint="mgr-taken"]')
        expect(taken.locator("[data-connect-source]")).to_have_count(0)  # saved through the API: the usual entry
        taken.locator("summary").click()
        expect(taken.locator("[data-connect-delete]")).to_have_count(1)
        clash = manager.locator('[data-connect-endpoint="user:Mgr Taken.json"]')
        expect(clash).to_have_attribute("data-connect-problem", "name_clash")
        expect(clash).to_contain_text("Not served: ")
        expect(clash).to_contain_text("an endpoint published under that name is served instead")
    finally:
        (folder / "mgr-plain.json").unlink()
        (user_flows / "Mgr Mine.json").unlink()
        (user_flows / "Mgr Taken.json").unlink()
        server_call(comfy.url, "DELETE", "/api/connect/workflows/mgr-taken")
