"""Remove nodes from a prompt the way ComfyUI's own bypass (mode 4) does.

Each consumer of a bypassed node's output slot is rewired to the bypassed node's input of the same
type: the input at the same index when its declared type matches, else the first declared input
that matches. Types come from the node classes' declarations, never from input names.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from ..comfy.nodespec import NodeSpec, SpecLookup, types_match
from ..errors import BypassError
from .endpoint import Prompt, is_link, title_of

Link = list[str | int]


def apply_bypass(prompt: Prompt, bypass: Iterable[str], specs: SpecLookup) -> Prompt:
    removed = {node_id for node_id in bypass if node_id in prompt}
    if not removed:
        return prompt
    resolve = _resolver(prompt, removed, specs)
    result: Prompt = {}
    for node_id, node in prompt.items():
        if node_id in removed:
            continue
        node = copy.copy(node)
        inputs = dict(node.get("inputs", {}))
        for name, value in list(inputs.items()):
            if not (is_link(value) and value[0] in removed):
                continue
            source = resolve(value[0], value[1])
            if source is not None:
                inputs[name] = source
            elif _is_optional(specs(node["class_type"]), name):
                del inputs[name]
            else:
                raise _unrewirable(prompt, value, node_id, name, specs)
        node["inputs"] = inputs
        result[node_id] = node
    return result


def _resolver(prompt: Prompt, removed: set[str], specs: SpecLookup) -> Callable[[str, int], Link | None]:
    def resolve(node_id: str, slot: int, seen: frozenset[str] = frozenset()) -> Link | None:
        if node_id in seen:
            return None
        spec = specs(prompt[node_id]["class_type"])
        if spec is None or slot >= len(spec.outputs):
            return None
        link = _passthrough(prompt[node_id].get("inputs", {}), spec, slot)
        if link is None or link[0] not in removed:
            return link
        return resolve(str(link[0]), int(link[1]), seen | {node_id})

    return resolve


def _passthrough(inputs: dict[str, object], spec: NodeSpec, slot: int) -> Link | None:
    wanted = spec.outputs[slot]
    candidates = list(spec.inputs)
    if slot < len(candidates):
        candidates.insert(0, candidates[slot])
    for candidate in candidates:
        value = inputs.get(candidate.name)
        if is_link(value) and types_match(candidate.type, wanted):
            return [str(value[0]), int(value[1])]  # type: ignore[index]
    return None


def _is_optional(spec: NodeSpec | None, name: str) -> bool:
    declared = spec.input(name) if spec else None
    return declared is not None and not declared.required


def _unrewirable(prompt: Prompt, link: list[object], consumer: str, input_name: str, specs: SpecLookup) -> BypassError:
    node_id, slot = str(link[0]), int(link[1])  # type: ignore[call-overload]
    node = prompt[node_id]
    spec = specs(node["class_type"])
    out_type = spec.outputs[slot] if spec and slot < len(spec.outputs) else "?"
    return BypassError(
        f"cannot bypass node {node_id} ({title_of(node)!r}, {node['class_type']}): its output {slot} ({out_type}) "
        f"feeds node {consumer} input '{input_name}', and it has no linked input of type {out_type} to pass through",
        {"node_id": node_id, "title": title_of(node), "consumer": consumer, "input": input_name, "type": out_type},
    )
