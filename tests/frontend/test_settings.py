"""The plugin's Connect.* settings (live_sync.js, endpoint_manager.js, annotation_badges.js) in ComfyUI's panel."""

from __future__ import annotations

from playwright.sync_api import expect

from .comfy_page import ComfyPage


def test_settings_are_in_the_settings_panel(ui: ComfyPage) -> None:
    ui.start_command("Comfy.ShowSettingsDialog")
    ui.page.get_by_role("dialog").get_by_text("Connect", exact=True).first.click()
    panel = ui.page.get_by_role("dialog")
    for name in ("Update the API endpoint when the workflow is saved", "Ask before deleting an endpoint", "Show what the API makes of"):
        expect(panel.get_by_text(name).first).to_be_visible()
