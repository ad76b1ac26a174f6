"""The fake engine's node classes: their /object_info definitions, and ComfyUI's prompt validation over them.

Definitions as ComfyUI 0.3.75 serves them at ``/object_info``, trimmed to what the plugin reads;
``validate`` answers like ``execution.validate_prompt`` for unknown classes, missing, unlinked, out of
range or unlisted inputs, and a prompt without outputs.
"""

from __future__ import annotations

from typing import Any

from connect.comfy.adapter import Validation

_INT = {"min": 0, "max": 16384, "step": 1}
_IMAGE_OUT: dict[str, Any] = {"output": ["IMAGE"], "output_node": False}
NODES: dict[str, dict[str, Any]] = {
    "EmptyImage": {
        "input": {
            "required": {
                "width": ["INT", {"default": 512, **_INT, "min": 1}],
                "height": ["INT", {"default": 512, **_INT, "min": 1}],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
                "color": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFF, "step": 1, "display": "color"}],
            }
        },
        **_IMAGE_OUT,
    },
    "ImageInvert": {"input": {"required": {"image": ["IMAGE", {}]}}, **_IMAGE_OUT},
    "LoadImage": {"input": {"required": {"image": [["example.png"], {"image_upload": True}]}}, "output": ["IMAGE", "MASK"]},
    "SaveImage": {
        "input": {"required": {"images": ["IMAGE", {}], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}},
        "output": [],
        "output_node": True,
    },
    "PreviewAny": {"input": {"required": {"source": ["*", {}]}}, "output": [], "output_node": True},
    "ConnectTestSteps": {
        "input": {"required": {"image": ["IMAGE", {}], "steps": ["INT", {"default": 3, "min": 1, "max": 100}], "seconds": ["FLOAT", {}]}},
        **_IMAGE_OUT,
    },
    "ConnectTestRaise": {"input": {"required": {"image": ["IMAGE", {}], "message": ["STRING", {}]}}, **_IMAGE_OUT},
}
for _info in NODES.values():
    _info.setdefault("input_order", {k: list(v) for k, v in _info["input"].items()})


def validate(prompt: dict[str, Any]) -> Validation:
    """ComfyUI's validate_prompt, for the fake's nodes: unknown classes, missing or out-of-range inputs, no outputs."""
    for node_id, node in prompt.items():
        if node.get("class_type") not in NODES:
            message = f"Cannot execute because node {node.get('class_type')} does not exist."
            return Validation(False, {"type": "invalid_prompt", "message": message, "details": f"Node ID '#{node_id}'"}, [], {})
    outputs = [node_id for node_id, node in prompt.items() if NODES[node["class_type"]].get("output_node")]
    if not outputs:
        return Validation(False, {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": ""}, [], {})
    node_errors: dict[str, Any] = {}
    for node_id, node in prompt.items():
        errors = [e for name, spec in NODES[node["class_type"]]["input"]["required"].items() if (e := _check(prompt, node, name, spec))]
        if errors:
            node_errors[node_id] = {"errors": errors, "dependent_outputs": outputs, "class_type": node["class_type"]}
    if node_errors:
        error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""}
        return Validation(False, error, [], node_errors)
    return Validation(True, None, outputs, {})


def _check(prompt: dict[str, Any], node: dict[str, Any], name: str, spec: list[Any]) -> dict[str, Any] | None:
    given = node.get("inputs", {}).get(name)
    extra = {"input_name": name}
    if given is None:
        return {"type": "required_input_missing", "message": "Required input is missing", "details": name, "extra_info": extra}
    if isinstance(given, list) and len(given) == 2 and isinstance(given[0], str):
        if given[0] not in prompt:
            return {"type": "bad_linked_input", "message": "Bad linked input", "details": name, "extra_info": extra}
        return None
    kind, options = spec[0], spec[1] if len(spec) > 1 else {}
    # LoadImage's own VALIDATE_INPUTS takes a stored file in a subfolder (the plugin's connect/...) that its list lacks.
    stored = node.get("class_type") == "LoadImage" and isinstance(given, str) and given.startswith("connect/")
    if isinstance(kind, list) and given not in kind and not stored:
        details = f"{name}: '{given}' not in {kind}"
        return {"type": "value_not_in_list", "message": "Value not in list", "details": details, "extra_info": extra}
    if kind in ("INT", "FLOAT") and isinstance(given, (int, float)):
        if "max" in options and given > options["max"]:
            details = f"Value {given} bigger than max of {options['max']}"
            return {"type": "value_bigger_than_max", "message": "Value bigger than max", "details": details, "extra_info": extra}
        if "min" in options and given < options["min"]:
            details = f"Value {given} smaller than min of {options['min']}"
            return {"type": "value_smaller_than_min", "message": "Value smaller than min", "details": details, "extra_info": extra}
    return None
