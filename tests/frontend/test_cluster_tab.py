"""web/js/cluster_tab.js: a "Cluster" tab in ComfyUI's sidebar shows the statistics page (one box, no cluster)."""

from __future__ import annotations

from launcher import ComfyServer
from playwright.sync_api import expect

from .comfy_page import INVERT_PROMPT, WAIT_MS, ComfyPage, server_call

TAB_BUTTON = ".connect-cluster-tab-button, [data-testid='connect-cluster-tab-button']"


def test_the_cluster_tab_shows_this_box_and_its_runs(ui: ComfyPage, comfy: ComfyServer) -> None:
    prompt = {**INVERT_PROMPT, "3": {**INVERT_PROMPT["3"], "_meta": {"title": "Save #out"}}}
    assert server_call(comfy.url, "PUT", "/api/connect/workflows/tab-run", {"prompt": prompt})[0] in (200, 201)
    status, _ = server_call(comfy.url, "POST", "/api/connect/workflows/tab-run", {})
    assert status == 200

    ui.page.locator(TAB_BUTTON).first.click()
    frame = ui.page.frame_locator("iframe[data-connect-cluster]")
    card = frame.locator("[data-connect-instance]")
    expect(card).to_have_count(1, timeout=WAIT_MS)  # this box, listed without a cluster
    expect(frame.locator("#status")).to_contain_text("one machine", timeout=WAIT_MS)
    expect(card.locator("[data-field='runs (1 h)']")).not_to_have_text("0", timeout=WAIT_MS)
    expect(frame.locator("#workflows")).to_contain_text("tab-run")
    expect(frame.locator('svg[data-chart="throughput"]')).to_have_count(1)
    assert frame.locator("h1").is_hidden()  # the compact (embedded) form
