"""web/js/live_sync.js: saving a published workflow (Ctrl+S) updates its endpoint; a setting stops it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from launcher import ComfyServer

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, ComfyPage, inverted, only_pixel, server_call, wait_for


def saved_color(comfy: ComfyServer, name: str) -> Any:
    status, described = server_call(comfy.url, "GET", f"/api/connect/workflows/{name}")
    assert status == 200, described
    return described["inputs"]["canvas"]["inputs"]["color"]


def workflow_file(comfy: ComfyServer, filename: str) -> Any:
    path = urllib.parse.quote(f"workflows/{filename}", safe="")
    status, content = server_call(comfy.url, "GET", f"/api/userdata/{path}")
    return content if status == 200 else None


def publish(ui: ComfyPage, name: str) -> None:
    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt(name)
    ui.expect_toast(f'Endpoint "{name}" saved')


def test_ctrl_s_updates_the_published_endpoint(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "live")
    ui.set_titles(ANNOTATED_TITLES)
    publish(ui, "live-sync")

    # The first Ctrl+S of a new workflow asks for its file name; the file then carries the endpoint name.
    ui.save_workflow_with_keyboard()
    ui.answer_prompt("live-wf")
    ui.expect_toast('Endpoint "live-sync" updated')
    saved = wait_for(lambda: workflow_file(comfy, "live-wf.json"), "the workflow file")
    assert saved["extra"]["connect"]["endpoint"] == "live-sync"

    ui.set_widget("1", "color", 0x0000FF)
    ui.save_workflow_with_keyboard()
    wait_for(lambda: saved_color(comfy, "live-sync") == 0x0000FF, "the endpoint to get the new colour")

    status, result = server_call(comfy.url, "POST", "/api/connect/workflows/live-sync", {})
    assert status == 200, result
    assert [only_pixel(png) for png in result["output"]] == [((16, 16), inverted(0x0000FF))]


def test_setting_turns_live_sync_off(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "no-sync")
    ui.set_titles(ANNOTATED_TITLES)
    publish(ui, "no-sync")
    ui.save_workflow_with_keyboard()
    ui.answer_prompt("no-sync-wf")
    ui.expect_toast('Endpoint "no-sync" updated')

    requests: list[str] = []
    ui.page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    ui.set_setting("Connect.LiveSync", False)
    try:
        ui.set_widget("1", "color", 0x00FF00)
        # Save, then one more round trip from the page: browser events arrive in order, so any
        # request live sync had started during the save is recorded before the marker's.
        ui.js("async () => { await app.extensionManager.command.execute('Comfy.SaveWorkflow'); await fetch('/system_stats?marker') }")
        wait_for(lambda: any("marker" in r for r in requests), "the marker request")
    finally:
        ui.set_setting("Connect.LiveSync", True)

    file = wait_for(lambda: workflow_file(comfy, "no-sync-wf.json"), "the workflow file")
    assert any(n["widgets_values"][3] == 0x00FF00 for n in file["nodes"] if n["type"] == "EmptyImage"), json.dumps(file)[:500]
    assert [r for r in requests if "/connect/" in r] == []
    assert saved_color(comfy, "no-sync") == 0xFF0000


def test_a_deleted_endpoint_is_not_published_again_by_a_save(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "gone")
    ui.set_titles(ANNOTATED_TITLES)
    publish(ui, "gone-endpoint")
    assert server_call(comfy.url, "DELETE", "/api/connect/workflows/gone-endpoint")[0] == 204
    requests: list[str] = []
    ui.page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))

    ui.save_workflow_with_keyboard()
    ui.answer_prompt("gone-wf")
    # Shown where live sync gives up, so nothing is sent after it.
    ui.expect_toast('Endpoint "gone-endpoint" was deleted: not updated')

    assert [r for r in requests if r.startswith("PUT ")] == []
    assert server_call(comfy.url, "GET", "/api/connect/workflows/gone-endpoint")[0] == 404
