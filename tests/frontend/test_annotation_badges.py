"""web/js/annotation_badges.js: node badges say what the API makes of each title, as it is edited."""

from __future__ import annotations

from typing import Any

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, ComfyPage


def api_badges(ui: ComfyPage) -> dict[str, list[str]]:
    found: dict[str, Any] = ui.js(
        """() => Object.fromEntries(connectShim.graphNodes().map((node) => [
             String(node.id),
             node.badges.map((b) => (typeof b === 'function' ? b() : b).text).filter((t) => t && t.startsWith('API:')),
           ]))"""
    )
    return found


def test_badges_follow_the_titles(ui: ComfyPage) -> None:
    ui.load_prompt(INVERT_PROMPT, "badges")
    assert api_badges(ui) == {"1": [], "2": [], "3": []}

    ui.set_titles({**ANNOTATED_TITLES, "2": "Invert [$invert() !cache]"})
    assert api_badges(ui) == {
        "1": ["API: in canvas(width,height,color)"],
        "2": ["API: in invert() · cache"],
        "3": ["API: out output"],
    }

    ui.set_titles({"1": "Canvas $canvas(width", "2": "C# Invert", "3": "Save !later"})
    badges = api_badges(ui)
    assert badges["1"] == ["API: ⚠ '$canvas(' is never closed"]
    assert badges["2"] == []
    assert badges["3"] == ["API: ⚠ unknown directive '!later'"]

    ui.set_setting("Connect.AnnotationBadges", False)
    try:
        assert api_badges(ui) == {"1": [], "2": [], "3": []}
    finally:
        ui.set_setting("Connect.AnnotationBadges", True)
