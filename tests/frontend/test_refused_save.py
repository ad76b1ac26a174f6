"""web/js/save_endpoint.js and live_sync.js on a server that refuses breaking saves (CONNECT_REFUSE_BREAKING):
the menu command asks, then saves with ?force=true; live sync says why it did not update."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from launcher import ComfyServer, prepare_base
from playwright.sync_api import Locator, expect

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, WAIT_MS, ComfyPage, server_call


@pytest.fixture(scope="module")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    """This module's own server (the frontend ComfyUI ships), with breaking saves refused."""
    server = ComfyServer(prepare_base(tmp_path_factory.mktemp("comfy-refusing-ui")), env={"CONNECT_REFUSE_BREAKING": "true"})
    try:
        server.start()
        yield server
    finally:
        server.stop()


def save_from_menu(ui: ComfyPage, name: str) -> None:
    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt(name)


def save_refused(ui: ComfyPage, name: str) -> Locator:
    """Saves from the menu where the server refuses it: the confirmation that follows (answer_prompt
    waits for every prompt dialog to close, which the confirmation keeps open in the page)."""
    ui.start_command(SAVE_COMMAND)
    field = ui.prompt_input()
    field.fill(name)
    field.press("Enter")
    dialog = ui.page.get_by_role("dialog").filter(has_text="breaks programs calling it")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    return dialog


def test_a_refused_breaking_save_is_confirmed_then_forced(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "refused")
    ui.set_titles(ANNOTATED_TITLES)
    save_from_menu(ui, "refused-ui")
    ui.expect_toast('Endpoint "refused-ui" saved')

    ui.set_titles({"1": "Canvas $canvas(width,color)"})
    dialog = save_refused(ui, "refused-ui")
    expect(dialog).to_contain_text("canvas.height removed")
    dialog.get_by_role("button", name="Cancel").click()
    ui.expect_toast('Endpoint "refused-ui" not saved')
    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/refused-ui")
    assert status == 200 and "height" in described["inputs"]["canvas"]["inputs"], described

    save_refused(ui, "refused-ui").get_by_role("button", name="Confirm").click()
    ui.expect_toast('Endpoint "refused-ui": 1 breaking change for its callers')
    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/refused-ui")
    assert status == 200 and "height" not in described["inputs"]["canvas"]["inputs"], described


def test_live_sync_says_a_breaking_save_was_refused(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "refused-live")
    ui.set_titles(ANNOTATED_TITLES)
    save_from_menu(ui, "refused-live")
    ui.expect_toast('Endpoint "refused-live" saved')
    ui.save_workflow_with_keyboard()
    ui.answer_prompt("refused-live-wf")
    ui.expect_toast('Endpoint "refused-live" updated')

    ui.set_titles({**ANNOTATED_TITLES, "3": "Save #image"})
    ui.save_workflow_with_keyboard()
    ui.expect_toast('Endpoint "refused-live" not updated')
    ui.expect_toast("Workflow > Save API Endpoint saves it after asking")
    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/refused-live")
    assert status == 200 and described["outputs"] == {"output": ["3"]}, described
