"""Which widgets the frontend gives a node, read from the node's definition (ComfyUI's /object_info).

A saved node's `widgets_values` is a list with one entry per widget, in the order the definition
lists its inputs (required, then optional). Some widgets exist only in the page and are not sent to
ComfyUI, yet they still take a place in that list: the "control after generate" combo that follows
a seed-like input, the upload button after a file combo. Reading values by position therefore needs
the same list of widgets the frontend builds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .dynprompt import expand

NodeInfo = dict[str, Any]
InfoLookup = Callable[[str], "NodeInfo | None"]

_PLAIN = {"INT", "FLOAT", "STRING", "BOOLEAN"}
# Upload options that make the frontend add a button widget after the file combo.
_UPLOADS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload", "model_upload", "mesh_upload")


# Widgets the frontend's own extensions add to a definition (after its inputs), with their empty value.
# Not node definitions (those come from ComfyUI): page features, e.g. the 3D preview that SaveGLB
# shows, whose widget is sent with the prompt.
PAGE_WIDGETS: dict[str, list[tuple[str, Any]]] = {"SaveGLB": [("image", "")]}
# CustomCombo's page keeps the chosen index, then one widget per option, as many as were saved.
_OPTIONS_NODE = "CustomCombo"
# Page-drawn widget types whose value the page sets itself on load, whatever was saved.
_PAGE_VALUES: dict[str, Any] = {"IMAGECOMPARE": ["", ""]}


_DYNAMIC = "COMFY_DYNAMICCOMBO_V3"


@dataclass(frozen=True)
class Widget:
    name: str
    sent: bool  # False: a page-only widget (control, upload button) that holds a place in the list
    default: Any = None
    # A dynamic combo's choices: key -> the inputs that choice adds (widgets named "<name>.<input>").
    choices: dict[str, dict[str, Any]] | None = None
    kind: str = ""
    dynamic_prompt: bool = False  # a text whose comments and {a|b} choices are resolved when sent


def widgets_of(info: NodeInfo, class_type: str, saved: int = 0) -> list[Widget]:
    """`saved`: how many values were saved (CustomCombo has as many option widgets)."""
    declared = [widget for name, spec in _inputs(info) for widget in _widgets(name, spec)]
    added = [Widget(name, True, empty) for name, empty in PAGE_WIDGETS.get(class_type, [])]
    if class_type == _OPTIONS_NODE:
        options = max(1, saved - len(declared) - 1)
        added = [Widget("index", True, 0), *(Widget(f"option{i}", True, "") for i in range(1, options + 1))]
    return declared + added


def widget_names(info: NodeInfo, class_type: str) -> set[str]:
    return {w.name for w in widgets_of(info, class_type) if w.sent}


def _inputs(info: NodeInfo) -> Iterator[tuple[str, list[Any]]]:
    declared = info.get("input") or {}
    order = info.get("input_order") or {}
    for section in ("required", "optional"):
        specs = declared.get(section) or {}
        for name in order.get(section) or list(specs):
            spec = specs.get(name)
            if isinstance(spec, (list, tuple)) and spec:
                yield name, list(spec)


def _widgets(name: str, spec: list[Any]) -> list[Widget]:
    kind = spec[0]
    options: dict[str, Any] = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if options.get("forceInput"):
        return []
    if kind == _DYNAMIC:
        added = {str(o.get("key")): o.get("inputs") or {} for o in options.get("options") or [] if isinstance(o, dict)}
        return [Widget(name, True, options.get("default", next(iter(added), None)), added)]
    kind = options.get("widgetType", kind)  # e.g. "FLOAT,INT" drawn as a FLOAT widget
    combo = isinstance(kind, list) or kind == "COMBO"
    if combo:
        listed: list[Any] = kind if isinstance(kind, list) else options.get("options") or []
        default = options.get("default", listed[0] if listed else None)
    elif kind in _PLAIN:
        default = options.get("default", _EMPTY[kind])
    elif options.get("socketless"):  # an input that can only be a widget (COLOR, CURVE, ...)
        default = options.get("default")
    else:
        return []  # a socket: MODEL, IMAGE, ...
    dynamic = kind == "STRING" and options.get("dynamicPrompts") is True
    found = [Widget(name, True, default, kind="COMBO" if combo else str(kind), dynamic_prompt=dynamic)]
    if options.get("control_after_generate"):
        found.append(Widget("control_after_generate", False))
    if combo and any(options.get(flag) for flag in _UPLOADS):
        found.append(Widget("upload", False))
    return found


_EMPTY: dict[str, Any] = {"INT": 0, "FLOAT": 0, "STRING": "", "BOOLEAN": False}


def widget_values(
    info: NodeInfo, class_type: str, saved: list[Any] | dict[str, Any], typed_curves: str = "", *, as_sent: bool = True
) -> dict[str, Any]:
    """The values the node sends, by input name: the saved ones, the definition's defaults for the rest.

    `typed_curves`: how a frontend marks a CURVE widget's value: "any" (every value), "list" (a list), "".
    `as_sent`: False gives the widgets' own values (dynamic prompts not yet resolved).
    """
    values: dict[str, Any] = {}
    widgets = widgets_of(info, class_type, len(saved))
    index = 0
    while index < len(widgets):  # grows: a dynamic combo's chosen inputs follow it
        widget = widgets[index]
        if isinstance(saved, dict):
            value = saved.get(widget.name, widget.default)
        else:
            value = saved[index] if index < len(saved) else widget.default
        value = _PAGE_VALUES.get(widget.kind, value)
        if as_sent and widget.dynamic_prompt and isinstance(value, str):
            value = expand(value)
        if widget.choices is not None:
            widgets[index + 1 : index + 1] = _chosen(widget, value)
        if widget.sent:
            values[widget.name] = _sent(value, widget.kind == "CURVE" and _typed(value, typed_curves))
        index += 1
    return values


def _typed(value: Any, typed_curves: str) -> bool:
    return (typed_curves == "any" and value is not None) or (typed_curves == "list" and isinstance(value, list))


def _sent(value: Any, curve: bool) -> Any:
    """A list would read as a link: the frontend wraps it (and marks a curve's value as one)."""
    if curve:
        return {"__type__": "CURVE", "__value__": value}
    return {"__value__": value} if isinstance(value, list) else value


def _chosen(widget: Widget, value: Any) -> list[Widget]:
    """The widgets a dynamic combo adds for its value, named under it ("format.codec")."""
    assert widget.choices is not None
    declared = widget.choices.get(str(value)) or {}
    found: list[Widget] = []
    for section in ("required", "optional"):
        for name, spec in (declared.get(section) or {}).items():
            if isinstance(spec, (list, tuple)) and spec:
                found.extend(_widgets(f"{widget.name}.{name}", list(spec)))
    return found
