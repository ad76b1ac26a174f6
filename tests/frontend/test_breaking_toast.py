"""web/js/publish.js warnBreaking: a save that breaks the endpoint's callers shows a warning listing why,
from the save command and from live sync (Ctrl+S), in the real page; a compatible save shows none."""

from __future__ import annotations

from launcher import ComfyServer

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, ComfyPage, server_call


def publish(ui: ComfyPage, name: str) -> None:
    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt(name)
    ui.expect_toast(f'Endpoint "{name}" saved')


def test_a_breaking_save_shows_a_warning_listing_the_changes(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "breaking")
    ui.set_titles(ANNOTATED_TITLES)
    publish(ui, "breaking-ui")
    assert ui.toast("breaking change").count() == 0  # a new endpoint breaks nobody

    # `height` is no longer exposed and the output is renamed: two things callers relied on.
    ui.set_titles({"1": "Canvas $canvas(width,color)", "3": "Save #image"})
    publish(ui, "breaking-ui")
    ui.expect_toast('Endpoint "breaking-ui": 2 breaking changes for its callers')
    ui.expect_toast("canvas.height removed")
    ui.expect_toast("output output removed")

    status, listed = server_call(comfy.url, "GET", "/api/connect/workflows/breaking-ui/versions")
    assert status == 200, listed
    assert [v["source"] for v in listed["versions"]] == ["ui", "ui"]


def test_live_sync_warns_about_a_breaking_save(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "breaking-live")
    ui.set_titles(ANNOTATED_TITLES)
    publish(ui, "breaking-live")
    ui.save_workflow_with_keyboard()
    ui.answer_prompt("breaking-live-wf")
    ui.expect_toast('Endpoint "breaking-live" updated')
    assert ui.toast("breaking change").count() == 0

    ui.set_titles({**ANNOTATED_TITLES, "2": "Invert"})  # the `invert` group goes: callers bypassing it break
    ui.save_workflow_with_keyboard()
    ui.expect_toast('Endpoint "breaking-live": 1 breaking change for its callers')
    ui.expect_toast("invert removed")
