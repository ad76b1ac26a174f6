"""What output files embed, from the sidebar (web/js/endpoint_manager.js) to the page that opens the file."""

from __future__ import annotations

import base64

from launcher import ComfyServer
from playwright.sync_api import expect

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, WAIT_MS, ComfyPage, server_call


def test_the_owner_picks_full_and_the_delivered_png_opens_as_the_endpoints_graph(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "embed-ui")
    ui.set_titles(ANNOTATED_TITLES)
    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("embed-ui")
    ui.expect_toast('Endpoint "embed-ui" saved')

    view = ui.open_manager().locator('[data-connect-endpoint="embed-ui"]')
    view.locator("summary").click()
    expect(view.locator("[data-connect-embeds]")).to_contain_text("nothing about how they were made (server default)")
    view.locator('select[data-connect-metadata="embed-ui"]').select_option("full")
    ui.expect_toast("embed-ui: output files embed full")
    assert server_call(comfy.url, "GET", "/api/connect/workflows/embed-ui")[1]["metadata"] == "full"

    status, result = server_call(comfy.url, "POST", "/api/connect/workflows/embed-ui", {"canvas": {"color": 0x00FF00}})
    assert status == 200, result
    # An empty canvas, then the file through the page's own load-from-file path (what a drop calls).
    ui.js("() => { connectShim.rootGraph().clear() }")
    ui.js(
        """async (b64) => {
             const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
             await app.handleFile(new File([bytes], "delivered.png", { type: "image/png" }))
           }""",
        result["output"][0],
    )
    ui.page.wait_for_function(
        """titles => Object.entries(titles).every(([id, title]) => connectShim.rootGraph().getNodeById(Number(id))?.title === title)""",
        arg=ANNOTATED_TITLES,
        timeout=WAIT_MS,
    )
    assert base64.b64decode(result["output"][0])[:8] == b"\x89PNG\r\n\x1a\n"
