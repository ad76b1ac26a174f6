"""workflow/widgets.py: saved widget values placed by the widgets the frontend builds from a definition."""

from __future__ import annotations

from typing import Any

from connect.workflow.widgets import widget_values

_SPEC = {"default": 1, "min": 0, "max": 10}


def info(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"input": {"required": required, "optional": optional or {}}}


def test_a_dynamic_combos_chosen_inputs_follow_it_named_under_it() -> None:
    codec = [
        "COMFY_DYNAMICCOMBO_V3",
        {"options": [{"key": "auto", "inputs": {}}, {"key": "h264", "inputs": {"required": {"crf": ["INT", _SPEC]}}}]},
    ]
    definition = info({"prefix": ["STRING", {}], "codec": codec}, {"tail": ["INT", _SPEC]})
    assert widget_values(definition, "X", ["v", "h264", 7, 3]) == {"prefix": "v", "codec": "h264", "codec.crf": 7, "tail": 3}
    assert widget_values(definition, "X", ["v", "auto", 3]) == {"prefix": "v", "codec": "auto", "tail": 3}


def test_widget_type_socketless_inputs_and_uploads_only_after_combos() -> None:
    definition = info(
        {
            "rate": ["FLOAT,INT", {"widgetType": "FLOAT", "default": 25.0}],
            "mask": ["STRING", {"widgetType": "PAINTER", "image_upload": True, "socketless": True}],
            "color": ["COLOR", {"default": "#000000", "socketless": True}],
            "image": ["IMAGE", {}],
            "file": [["a.png"], {"image_upload": True}],
            "after": ["INT", _SPEC],
        }
    )
    values = widget_values(definition, "X", [24.0, "m.png", "#ffffff", "a.png", "upload", 4])
    assert values == {"rate": 24.0, "mask": "m.png", "color": "#ffffff", "file": "a.png", "after": 4}


def test_page_widgets_the_frontend_adds_and_values_it_sets_itself() -> None:
    combo = widget_values(info({"choice": ["COMBO", {"options": []}]}), "CustomCombo", ["b", 1, "a", "b", ""])
    assert combo == {"choice": "b", "index": 1, "option1": "a", "option2": "b", "option3": ""}
    compare = widget_values(info({"compare_view": ["IMAGECOMPARE", {"socketless": True}]}), "ImageCompare", [{"before": "x"}])
    assert compare == {"compare_view": {"__value__": ["", ""]}}
    glb = widget_values(info({"filename_prefix": ["STRING", {}]}), "SaveGLB", ["mesh/x", ""])
    assert glb == {"filename_prefix": "mesh/x", "image": ""}


def test_lists_are_wrapped_and_curves_marked_as_the_frontend_does() -> None:
    definition = info({"curve": ["CURVE", {"socketless": True}], "pair": ["STRING", {}]})
    assert widget_values(definition, "X", [[[0, 0]], ["a"]]) == {"curve": {"__value__": [[0, 0]]}, "pair": {"__value__": ["a"]}}
    assert widget_values(definition, "X", [[[0, 0]], "a"], "list")["curve"] == {"__type__": "CURVE", "__value__": [[0, 0]]}
    assert widget_values(definition, "X", [{"points": []}, "a"], "list")["curve"] == {"points": []}
    assert widget_values(definition, "X", [{"points": []}, "a"], "any")["curve"] == {"__type__": "CURVE", "__value__": {"points": []}}


def test_values_saved_by_name_are_read_by_name() -> None:
    definition = info({"a": ["INT", _SPEC], "b": ["INT", _SPEC]})
    assert widget_values(definition, "X", {"b": 5}) == {"a": 1, "b": 5}
