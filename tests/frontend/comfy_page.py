"""The ComfyUI page as the browser tests use it: what a user does, in words of the UI.

Selectors stick to what both frontends (1.32.9, 1.58.x) render: the menu's `menuitem` roles, the
prompt dialog's `.prompt-dialog-content input`, toast text, and the plugin's own `data-connect-*`
attributes. Page JS goes through the public extension API (`app.extensionManager`, `app`) and, for
the frontend's private parts (the root graph, its nodes, the change tracker), through the plugin's
own web/js/comfy_shim.js, available in the page as `connectShim`: one place to fix for a new frontend.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from launcher import PLUGIN_DIR_NAME
from PIL import Image
from playwright.sync_api import Locator, Page, expect

PLUGIN_URL = f"/extensions/{PLUGIN_DIR_NAME}/"
SAVE_COMMAND = "Connect.SaveEndpoint"
TAB_BUTTON = ".connect-endpoints-tab-button, [data-testid='connect-endpoints-tab-button']"
# Waits for the page and the server; generous because two ComfyUIs may share two cores with others.
WAIT_MS = 60_000

# EmptyImage -> ImageInvert -> SaveImage, without annotations: the tests add them as a user would.
INVERT_PROMPT: dict[str, Any] = {
    "1": {
        "class_type": "EmptyImage",
        "inputs": {"width": 16, "height": 16, "batch_size": 1, "color": 0xFF0000},
        "_meta": {"title": "Canvas"},
    },
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}, "_meta": {"title": "Invert"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "connect-ui"}, "_meta": {"title": "Save"}},
}
ANNOTATED_TITLES = {"1": "Canvas $canvas(width,height,color)", "2": "Invert $invert()", "3": "Save #output"}


class ComfyPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    # -- page and graph ----------------------------------------------------------------------------
    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_function(
            f"""() => window.app?.extensionManager?.command?.commands?.some((c) => c.id === {json.dumps(SAVE_COMMAND)})
                  && (window.app.rootGraph ?? window.app.graph)""",
            timeout=WAIT_MS,
        )
        # The same module instance the plugin's features use (the browser loads a URL once).
        self.js(f"async () => {{ window.connectShim = await import({json.dumps(PLUGIN_URL + 'comfy_shim.js')}) }}")

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def load_prompt(self, prompt: dict[str, Any], filename: str) -> None:
        """Opens an API-format workflow the way ComfyUI opens a dropped API JSON file."""
        self.js("async ([prompt, name]) => { await app.loadApiJson(prompt, name) }", [prompt, filename])
        self.page.wait_for_function(
            "ids => ids.every((id) => connectShim.rootGraph().getNodeById(Number(id)))", arg=list(prompt), timeout=WAIT_MS
        )

    def set_titles(self, titles: dict[str, str]) -> None:
        self.js(
            """titles => {
                 const graph = connectShim.rootGraph()
                 for (const [id, title] of Object.entries(titles)) graph.getNodeById(Number(id)).title = title
                 graph.setDirtyCanvas(true, true)
                 connectShim.markGraphChanged()
               }""",
            titles,
        )

    def set_widget(self, node_id: str, name: str, value: Any) -> None:
        self.js(
            """([id, name, value]) => {
                 const node = connectShim.rootGraph().getNodeById(Number(id))
                 node.widgets.find((w) => w.name === name).value = value
                 connectShim.markGraphChanged()
               }""",
            [node_id, name, value],
        )

    def api_prompt(self) -> dict[str, Any]:
        result: dict[str, Any] = self.js("async () => (await app.graphToPrompt()).output")
        return result

    def remembered_endpoint(self) -> Any:
        return self.js("async () => (await app.graphToPrompt()).workflow.extra?.connect?.endpoint ?? null")

    def set_setting(self, setting_id: str, value: Any) -> None:
        self.js("async ([id, value]) => { await app.extensionManager.setting.set(id, value) }", [setting_id, value])

    # -- what a user does --------------------------------------------------------------------------
    def start_command(self, command_id: str) -> None:
        """Runs a command as a keybinding would; does not wait for it (it may open a dialog)."""
        self.js("id => { app.extensionManager.command.execute(id) }", command_id)

    def click_menu(self, group: str, entry: str) -> None:
        self.page.locator(".comfyui-logo").first.click()
        self.page.get_by_role("menuitem", name=group, exact=True).first.hover()
        self.page.get_by_role("menuitem", name=entry, exact=True).first.click()

    def prompt_input(self) -> Locator:
        field = self.page.locator(".prompt-dialog-content input")
        expect(field).to_be_visible(timeout=WAIT_MS)
        return field

    def answer_prompt(self, text: str) -> str:
        """Types `text` into the open prompt dialog and confirms; returns what was prefilled."""
        field = self.prompt_input()
        prefilled = field.input_value()
        field.fill(text)
        field.press("Enter")
        expect(self.page.locator(".prompt-dialog-content")).to_have_count(0, timeout=WAIT_MS)
        return prefilled

    def save_workflow_with_keyboard(self) -> None:
        self.page.locator("#graph-canvas").focus()
        self.page.keyboard.press("Control+s")

    def toast(self, text: str) -> Locator:
        return self.page.get_by_text(text, exact=False)

    def expect_toast(self, text: str) -> Locator:
        found = self.toast(text).first
        expect(found).to_be_visible(timeout=WAIT_MS)
        return found

    def open_manager(self) -> Locator:
        self.page.locator(TAB_BUTTON).first.click()
        manager = self.page.locator(".connect-manager")
        expect(manager.locator(".connect-list[data-connect-loaded]")).to_have_count(1, timeout=WAIT_MS)
        return manager


# -- checking what the server has, directly over HTTP ----------------------------------------------
def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_MS / 1000) -> Any:
    """Polls until `condition()` is neither False nor None; the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout
    while (value := condition()) is False or value is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def server_call(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def only_pixel(png_b64: str) -> tuple[tuple[int, int], tuple[int, ...]]:
    """(size, colour) of a single-colour PNG as the endpoint returns it."""
    image = Image.open(io.BytesIO(base64.b64decode(png_b64))).convert("RGB")
    colours = image.getcolors()
    assert colours is not None and len(colours) == 1, f"expected one colour, got {colours}"
    colour = colours[0][1]
    assert isinstance(colour, tuple), colour  # an RGB image's colours are tuples
    return image.size, colour


def inverted(rgb: int) -> tuple[int, int, int]:
    return (255 - (rgb >> 16 & 255), 255 - (rgb >> 8 & 255), 255 - (rgb & 255))
