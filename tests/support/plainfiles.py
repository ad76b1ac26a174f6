"""Plain workflow files for the tests of the workflows folder and ComfyUI's user workflows.

converter = CountingConverter()       # the real UI -> API converter over a few node definitions
ui_workflow(width=80)                 # a UI-format file (Ctrl+S): EmptyImage "$size" -> SaveImage "#out"
api_prompt(width=80)                  # the same as an API-format prompt ("Export (API)")
"""

from __future__ import annotations

from typing import Any

from connect.workflow.convert import convert
from support.uiformat import UIGraph

_INT = {"default": 0, "min": 0, "max": 4096}
INFO: dict[str, dict[str, Any]] = {
    "EmptyImage": {
        "input": {"required": {"width": ["INT", _INT], "height": ["INT", _INT], "batch_size": ["INT", _INT], "color": ["INT", _INT]}},
        "output": ["IMAGE"],
    },
    "SaveImage": {"input": {"required": {"images": ["IMAGE", {}], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}}, "output": []},
}


class CountingConverter:
    """The real converter over INFO, counting its calls (a cached file must not be converted again)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, workflow: Any) -> dict[str, Any]:
        self.calls += 1
        return convert(workflow, INFO.get, (1, 32, 9))


def ui_workflow(
    width: int = 64, title: str = "$size", output: str = "#out", class_type: str = "EmptyImage", color: int = 0
) -> dict[str, Any]:
    ui = UIGraph()
    canvas = ui.node(1, class_type, [width, 32, 1, color], outputs=["IMAGE"], title=title)
    save = ui.node(2, "SaveImage", ["x"], inputs=[("images", "IMAGE")], title=output)
    ui.link(canvas, 0, save, 0)
    return ui.saved()


def api_prompt(width: int = 64, title: str = "$size") -> dict[str, Any]:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": 32, "batch_size": 1, "color": 0}, "_meta": {"title": title}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "#out"}},
    }
