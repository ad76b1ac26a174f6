"""What a node class declares: its inputs (names, types, options) and its output types.

Built from the same data ComfyUI serves at ``/object_info`` (``input``, ``input_order``,
``output``, ``output_node``), so pure modules can reason about types without importing ComfyUI.

ComfyUI 0.33.0 added fields; the ones read here describe how the node runs, not what its inputs
accept, so the contract does not change with them:
- ``is_input_list``: the node is called once with every input as a whole list (a batch from an
  ``output_is_list`` node) instead of once per item. A widget value in a prompt is still one value:
  ComfyUI's validation takes any JSON list there for a link ``[node_id, slot]``.
- ``has_intermediate_output``: the node shows UI output (a preview) though it is no output node.
- ``deprecated`` / ``dev_only``: how the node picker lists it; a prompt may still use it.
``search_aliases`` and ``essentials_category`` only serve the node picker and are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ANY_TYPE = "*"


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str  # "INT", "IMAGE", ... or "COMBO" for a list of choices
    options: Mapping[str, Any] = field(default_factory=dict)
    required: bool = True
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class NodeSpec:
    class_type: str
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[str, ...] = ()
    output_node: bool = False
    input_is_list: bool = False
    output_is_list: tuple[bool, ...] = ()
    has_intermediate_output: bool = False
    deprecated: bool = False
    dev_only: bool = False

    def input(self, name: str) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    @classmethod
    def from_object_info(cls, class_type: str, info: Mapping[str, Any]) -> NodeSpec:
        declared = info.get("input", {})
        order = info.get("input_order", {})
        inputs: list[InputSpec] = []
        for section in ("required", "optional"):
            entries = declared.get(section) or {}
            for name in order.get(section) or list(entries):
                if name in entries:
                    inputs.append(_input_spec(name, entries[name], section == "required"))
        outputs = tuple(_type_name(t) for t in info.get("output", ()))
        listed = info.get("output_is_list")
        return cls(
            class_type,
            tuple(inputs),
            outputs,
            bool(info.get("output_node", False)),
            input_is_list=bool(info.get("is_input_list", False)),
            output_is_list=tuple(bool(x) for x in listed) if isinstance(listed, (list, tuple)) else (False,) * len(outputs),
            has_intermediate_output=bool(info.get("has_intermediate_output", False)),
            deprecated=bool(info.get("deprecated", False)),
            dev_only=bool(info.get("dev_only", False)),
        )


def _input_spec(name: str, entry: Any, required: bool) -> InputSpec:
    raw_type = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
    options = entry[1] if isinstance(entry, (list, tuple)) and len(entry) > 1 and isinstance(entry[1], dict) else {}
    if isinstance(raw_type, (list, tuple)):
        return InputSpec(name, "COMBO", options, required, tuple(raw_type))
    if raw_type == "COMBO" and isinstance(options.get("options"), (list, tuple)):
        return InputSpec(name, "COMBO", options, required, tuple(options["options"]))
    return InputSpec(name, _type_name(raw_type), options, required)


def _type_name(raw: Any) -> str:
    return raw if isinstance(raw, str) else "COMBO"


def types_match(produced: str, wanted: str) -> bool:
    """ComfyUI's rule for links: equal names, '*' on either side, or a comma list that shares one."""
    if ANY_TYPE in (produced, wanted) or produced == wanted:
        return True
    # Spaces around the commas are allowed, as in ComfyUI's validate_node_input ("STRING, INT").
    return bool({t.strip() for t in produced.split(",")} & {t.strip() for t in wanted.split(",")})


SpecLookup = Callable[[str], "NodeSpec | None"]
