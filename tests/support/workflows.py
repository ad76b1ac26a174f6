"""API-format prompts the tests save as endpoints, and a check that the server still serves."""

from __future__ import annotations

import itertools

import requests

from .api import HTTP_TIMEOUT, Api, Prompt, link, node
from .images import assert_color, rgb_of

_colors = itertools.count(0x102030, 0x010101)


def canvas(canvas_title: str = "Canvas $canvas", save_title: str = "Save #out", **inputs: int) -> Prompt:
    """EmptyImage -> SaveImage."""
    widgets = {"width": 8, "height": 8, "batch_size": 1, "color": 0, **inputs}
    return {
        "1": node("EmptyImage", canvas_title, **widgets),
        "2": node("SaveImage", save_title, images=link("1"), filename_prefix="e2e"),
    }


def load_invert(load_title: str = "Load $load", invert_title: str = "Invert $invert()", save_title: str = "Save #out") -> Prompt:
    """LoadImage -> ImageInvert -> SaveImage."""
    return {
        "1": node("LoadImage", load_title, image="example.png"),
        "2": node("ImageInvert", invert_title, image=link("1")),
        "3": node("SaveImage", save_title, images=link("2"), filename_prefix="e2e"),
    }


def file_input(b64: str, name: str | None = None) -> dict[str, str]:
    spec = {"type": "file", "content": b64}
    if name is not None:
        spec["name"] = name
    return spec


def assert_still_serving(api: Api) -> None:
    """After an error: the plugin runs the next call, ComfyUI's UI page loads and its own API runs a prompt."""
    api.saved("health", canvas())
    color = next(_colors)
    (image,) = api.run_ok("health", {"canvas": {"color": color}})["out"]
    assert_color(image, rgb_of(color))
    assert requests.get(api.url + "/", timeout=HTTP_TIMEOUT).status_code == 200
    native = {"1": node("EmptyImage", width=4, height=4, batch_size=1, color=next(_colors)), "2": node("PreviewImage", images=link("1"))}
    assert api.native_run(native)["status"]["status_str"] == "success"
