"""web/js/annotation_badges.js: node badges say what the API makes of each title, as it is edited."""

from __future__ import annotations

from typing import Any

from support.titles import NEUTRAL_JS, SPECIMENS, expected

from .comfy_page import ANNOTATED_TITLES, INVERT_PROMPT, PLUGIN_URL, ComfyPage


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
    # The server's own words (connect/annotations.py), as a save would answer them.
    assert badges["1"] == ["API: ⚠ '$canvas(' is never closed: expected ')' after the input names"]
    assert badges["2"] == []
    assert badges["3"] == ["API: ⚠ unknown directive '!later': expected one of !bypass, !cache"]

    ui.set_setting("Connect.AnnotationBadges", False)
    try:
        assert api_badges(ui) == {"1": [], "2": [], "3": []}
    finally:
        ui.set_setting("Connect.AnnotationBadges", True)


def test_the_served_titles_js_reads_every_specimen(ui: ComfyPage) -> None:
    """tests/title_specimens.json once more, through titles.js as this frontend loads it."""
    readings = ui.js(
        f"""async (titles) => {{
             const {{ readTitle }} = await import({PLUGIN_URL + "titles.js"!r});
             const neutral = {NEUTRAL_JS};
             return titles.map((title) => neutral(readTitle(title)));
           }}""",
        [s["title"] for s in SPECIMENS],
    )
    wrong = [(s["rule"], s["title"], got, expected(s)) for s, got in zip(SPECIMENS, readings, strict=True) if got != expected(s)]
    assert wrong == []
