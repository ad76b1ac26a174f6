"""web/js/save_endpoint.js: "Workflow > Save API Endpoint", end to end in the real page."""

from __future__ import annotations

from launcher import ComfyServer

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, SAVE_COMMAND, ComfyPage, inverted, only_pixel, server_call, wait_for


def test_menu_entry_saves_an_endpoint_that_runs(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "invert-menu")
    ui.set_titles(ANNOTATED_TITLES)

    ui.click_menu("Workflow", "Save API Endpoint")
    ui.answer_prompt("menu-invert")
    ui.expect_toast('Endpoint "menu-invert" saved')

    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/menu-invert")
    assert status == 200, described
    assert described["inputs"]["canvas"]["inputs"] == {"width": 16, "height": 16, "color": 0xFF0000}
    assert described["outputs"] == {"output": ["3"]}
    assert "invert" in described["bypassable"]

    status, result = server_call(
        comfy.url, "POST", "/api/connect/workflows/menu-invert", {"canvas": {"width": 8, "height": 4, "color": 0x00FF00}}
    )
    assert status == 200, result
    assert [only_pixel(png) for png in result["output"]] == [((8, 4), inverted(0x00FF00))]


def test_command_prefills_the_name_the_second_time(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "prefill")
    ui.set_titles(ANNOTATED_TITLES)

    ui.start_command(SAVE_COMMAND)
    first_offer = ui.answer_prompt("prefill-me")
    ui.expect_toast('Endpoint "prefill-me" saved')
    assert first_offer == "prefill"  # the workflow's own name, before any endpoint was saved
    assert ui.remembered_endpoint() == "prefill-me"

    ui.set_widget("1", "color", 0x123456)
    ui.start_command(SAVE_COMMAND)
    assert ui.answer_prompt("prefill-me") == "prefill-me"

    def saved_color() -> object:
        status, described = server_call(comfy.url, "GET", "/api/connect/workflows/prefill-me")
        assert status == 200, described
        return described["inputs"]["canvas"]["inputs"]["color"]

    wait_for(lambda: saved_color() == 0x123456, "the second save to reach the server")


def test_invalid_annotation_shows_the_server_error_and_no_success(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "broken")
    ui.set_titles({**ANNOTATED_TITLES, "2": "Invert $bad("})
    # What the server says about exactly this graph, asked directly.
    status, refused = server_call(comfy.url, "PUT", "/api/connect/workflows/probe-broken", {"prompt": ui.api_prompt()})
    assert status == 400, refused
    message = refused["error"]["message"]
    assert "never closed" in message

    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("broken-endpoint")
    ui.expect_toast('Endpoint "broken-endpoint" not saved')
    ui.expect_toast(message)

    assert ui.toast('Endpoint "broken-endpoint" saved').count() == 0
    assert server_call(comfy.url, "GET", "/api/connect/workflows/broken-endpoint")[0] == 404
    assert ui.remembered_endpoint() is None


def test_a_refused_name_shows_the_server_error(ui: ComfyPage, comfy: ComfyServer) -> None:
    ui.load_prompt(INVERT_PROMPT, "bad-name")
    ui.set_titles(ANNOTATED_TITLES)

    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("no spaces allowed")
    ui.expect_toast('Endpoint "no spaces allowed" not saved')
    ui.expect_toast("invalid workflow name")
    assert ui.remembered_endpoint() is None


def test_a_save_that_is_not_ready_on_this_box_says_what_is_missing(ui: ComfyPage, comfy: ComfyServer) -> None:
    prompt = {
        **INVERT_PROMPT,
        "4": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "ui-absent.safetensors"}, "_meta": {"title": "Upscaler"}},
        "5": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["4", 0], "image": ["2", 0]}, "_meta": {"title": "Up"}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "connect-ui"}, "_meta": {"title": "Save"}},
    }
    ui.load_prompt(prompt, "unready")
    ui.set_titles({**ANNOTATED_TITLES, "6": "Save #upscaled"})

    ui.start_command(SAVE_COMMAND)
    ui.answer_prompt("ui-unready")
    ui.expect_toast('Endpoint "ui-unready" saved, but not ready on this box')
    ui.expect_toast("missing: model file ui-absent.safetensors (node 4)")
    # Saved all the same (the workflow may be meant for another box), and the server says the same.
    status, described = server_call(comfy.url, "GET", "/api/connect/workflows/ui-unready")
    assert status == 200 and described["ready"] is False, described
    assert [(m["kind"], m["value"]) for m in described["missing"]] == [("model_file", "ui-absent.safetensors")]
    assert ui.page.get_by_text('Endpoint "ui-unready" saved', exact=True).count() == 0  # the warning, not also a plain "saved"
