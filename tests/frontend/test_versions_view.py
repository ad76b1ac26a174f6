"""web/js/versions_view.js: the endpoint manager lists an endpoint's versions and restores one."""

from __future__ import annotations

from launcher import ComfyServer
from playwright.sync_api import expect

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, WAIT_MS, ComfyPage, inverted, only_pixel, server_call


def saved(comfy: ComfyServer, name: str, color: int) -> str:
    prompt = {node_id: {**node, "_meta": {"title": ANNOTATED_TITLES[node_id]}} for node_id, node in INVERT_PROMPT.items()}
    prompt["1"] = {**prompt["1"], "inputs": {**prompt["1"]["inputs"], "color": color}}
    status, described = server_call(comfy.url, "PUT", f"/api/connect/workflows/{name}", {"prompt": prompt})
    assert status in (200, 201), described
    return str(described["version"])


def test_the_manager_lists_versions_and_restores_one(ui: ComfyPage, comfy: ComfyServer) -> None:
    old = saved(comfy, "mgr-versions", 0xFF0000)
    new = saved(comfy, "mgr-versions", 0x00FF00)

    manager = ui.open_manager()
    endpoint = manager.locator('[data-connect-endpoint="mgr-versions"]')
    endpoint.locator("summary").click()
    endpoint.locator('[data-connect-versions="mgr-versions"]').click()
    rows = endpoint.locator("[data-connect-version]")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.nth(0)).to_have_attribute("data-connect-version", new)
    expect(rows.nth(0)).to_contain_text("(current)")
    expect(rows.nth(1)).to_contain_text(old[:12])
    expect(endpoint.locator(f'[data-connect-restore="{new}"]')).to_have_count(0)

    endpoint.locator(f'[data-connect-restore="{old}"]').click()
    ui.expect_toast(f'Endpoint "mgr-versions" restored to {old[:12]}')

    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/mgr-versions")
    assert status == 200 and described["version"] == old, described
    status, result = server_call(comfy.url, "POST", "/api/connect/workflows/mgr-versions", {})
    assert status == 200, result
    assert [only_pixel(png) for png in result["output"]] == [((16, 16), inverted(0xFF0000))]


def test_restoring_the_open_workflows_endpoint_says_a_save_publishes_its_graph_again(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "mgr-open")
    ui.set_titles(ANNOTATED_TITLES)
    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("mgr-open")
    ui.expect_toast('Endpoint "mgr-open" saved')
    old = saved(comfy, "mgr-open", 0x0000FF)  # another version, saved elsewhere; restoring it changes the endpoint only

    manager = ui.open_manager()
    endpoint = manager.locator('[data-connect-endpoint="mgr-open"]')
    endpoint.locator("summary").click()
    endpoint.locator('[data-connect-versions="mgr-open"]').click()
    rows = endpoint.locator("[data-connect-version]")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    current = rows.nth(0).get_attribute("data-connect-version")
    assert current == old
    endpoint.locator(f'[data-connect-restore="{rows.nth(1).get_attribute("data-connect-version")}"]').click()
    ui.expect_toast('"mgr-open" is the open workflow')
