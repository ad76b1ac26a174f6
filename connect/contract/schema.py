"""What a caller may send to a saved workflow: one contract per exposed input, rendered as JSON Schema.

    contract = build_contract(endpoint, specs)
    contract.groups["sampler"].inputs["steps"].schema()
    -> {"type": "integer", "minimum": 1, "maximum": 10000, "default": 20, "examples": [20], ...}
    contract.body_schema()      the run request body; the OpenAPI document shows exactly this,
                                and the run path validates against exactly this (validation.py)

Built from ComfyUI's own node definitions (NodeSpec) and the values saved in the workflow:

- INT -> integer, FLOAT -> number, with ComfyUI's `min`/`max` as minimum/maximum; STRING -> string;
  BOOLEAN -> boolean; a combo -> `enum` of the list ComfyUI offers *now* (model files, samplers), so
  a model file added while ComfyUI runs is accepted without a restart.
- INT `step`: ComfyUI's editor snaps an INT to `min + k*step`. When `min` is a multiple of `step` (or
  unset) that is exactly `multipleOf: step`; otherwise (video `length`: 1, 5, 9, ...) JSON Schema has no
  keyword for it and the step is only recorded in `x-comfy`. ComfyUI's server checks neither.
- FLOAT `step` and `round` are the editor's increment and display rounding: ComfyUI's server accepts any
  float in range, and decimal steps (0.01) are not exact in binary floats, so they are recorded in
  `x-comfy`, never enforced as `multipleOf`.
- Loader inputs that take an upload (`image_upload`, `video_upload`, ...) also accept a FileInput
  object (base64 `content`, a `url`, or a multipart `part`), besides an existing file name.
- Types follow JSON Schema, not Python: 20 and 20.0 are integers, "20" and true are not.
- A combo with no choice at all (no model file yet) accepts no value: the saved one is used.
- Every exposed input has a saved value, which is its `default`: nothing is required. A saved value
  the input's schema refuses now (a model file since removed) is no `default`; `x-comfy.saved` and
  the description say what it is.
- A group is an object of its inputs, or `false` to bypass its nodes; `$foo()` accepts only `false`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ..comfy.nodespec import InputSpec, NodeSpec
from ..workflow.endpoint import Endpoint, InputGroup

_TYPES = Draft202012Validator.TYPE_CHECKER

FILE_INPUT_REF = "#/components/schemas/FileInput"
_FILE_TYPE = {"type": "string", "const": "file"}
_FILE_NAME = {"type": "string", "description": "Original file name; only its extension is used"}
# Closed shapes rather than one object with `oneOf: [{required: [content]}, {required: [url]}]`:
# same meaning, and client generators turn them into two classes instead of giving up.
FILE_CONTENT: dict[str, Any] = {
    "type": "object",
    "description": "A file sent inline: base64 `content` (a data: URI prefix is allowed)",
    "properties": {"type": _FILE_TYPE, "content": {"type": "string", "contentEncoding": "base64"}, "name": _FILE_NAME},
    "required": ["type", "content"],
    "additionalProperties": False,
}
FILE_URL: dict[str, Any] = {
    "type": "object",
    "description": "A file the server fetches from `url` (http or https)",
    "properties": {"type": _FILE_TYPE, "url": {"type": "string", "format": "uri"}, "name": _FILE_NAME},
    "required": ["type", "url"],
    "additionalProperties": False,
}
FILE_PART: dict[str, Any] = {
    "type": "object",
    "description": "A file sent as the part named `part` of a multipart/form-data request (beside the `payload` part)",
    "properties": {"type": _FILE_TYPE, "part": {"type": "string", "minLength": 1}, "name": _FILE_NAME},
    "required": ["type", "part"],
    "additionalProperties": False,
}
FILE_INPUT: dict[str, Any] = {
    "description": "A file sent with the call, checked against what its loader expects (an image, video or audio file), "
    "stored in ComfyUI's input folder and given to the node by name",
    "oneOf": [
        {"$ref": "#/components/schemas/FileContent"},
        {"$ref": "#/components/schemas/FileURL"},
        {"$ref": "#/components/schemas/FilePart"},
    ],
}
SHARED_SCHEMAS = {"FileInput": FILE_INPUT, "FileContent": FILE_CONTENT, "FileURL": FILE_URL, "FilePart": FILE_PART}

SpecLookup = Callable[[str], "NodeSpec | None"]
_NUMERIC = {"INT": "integer", "FLOAT": "number"}
_PLAIN = {"STRING": "string", "BOOLEAN": "boolean"}
# Upload widgets store files in ComfyUI's input folder; only those can take a FileInput.
_UPLOAD_FOLDER = "input"


@dataclass(frozen=True)
class InputContract:
    group: str
    name: str
    default: Any
    type: str | list[str] | None = None  # JSON Schema type; None only for a combo of mixed choices
    minimum: int | float | None = None
    maximum: int | float | None = None
    multiple_of: int | None = None
    enum: tuple[Any, ...] | None = None
    file: bool = False
    description: str | None = None
    comfy: Mapping[str, Any] = field(default_factory=dict)  # ComfyUI's own facts, shown as `x-comfy`

    @property
    def saved_value_accepted(self) -> bool:
        """Whether `_typed()` accepts the saved value: the same keywords, checked without building a
        validator per input (this runs for every input of every request)."""
        value = self.default
        types = [self.type] if isinstance(self.type, str) else self.type or []
        if types and not any(_TYPES.is_type(value, t) for t in types):
            return False
        if self.enum is not None and not any(_same(value, choice) for choice in self.enum):
            return False
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return True
        below = self.minimum is not None and value < self.minimum
        above = self.maximum is not None and value > self.maximum
        return not (below or above or (self.multiple_of is not None and value % self.multiple_of != 0))

    def schema(self) -> dict[str, Any]:
        typed = self._typed()
        accepted = self.saved_value_accepted
        if self.file:
            typed = {"anyOf": [typed, {"$ref": FILE_INPUT_REF}]}
        description = self.description or ""
        if accepted:
            typed["default"] = self.default
            typed["examples"] = [self.default]
        else:
            # A `default` its own schema refuses (a model file since removed) misleads clients, and
            # generators reject the document. Say what is saved instead (ComfyUI will judge it).
            note = f"The saved value {json.dumps(self.default)} is not accepted now; a run that leaves this input out still uses it."
            description = f"{description} {note}".strip()
        if description:
            typed["description"] = description
        if self.comfy or not accepted:
            typed["x-comfy"] = {**self.comfy, **({} if accepted else {"saved": self.default})}
        return typed

    def _typed(self) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if self.type is not None:
            schema["type"] = self.type
        if self.enum:
            schema["enum"] = list(self.enum)
        elif self.enum is not None:
            # No choice exists now (no model file installed yet). An empty `enum` says the same but
            # breaks client generators; `not: {}` is JSON Schema's other spelling of "nothing".
            schema["not"] = {}
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum), ("multipleOf", self.multiple_of)):
            if value is not None:
                schema[key] = value
        return schema


@dataclass(frozen=True)
class GroupContract:
    name: str
    node_ids: tuple[str, ...]
    class_types: tuple[str, ...]
    inputs: Mapping[str, InputContract]

    def schema(self) -> dict[str, Any]:
        nodes = ", ".join(f"{n} ({c})" for n, c in zip(self.node_ids, self.class_types, strict=True))
        bypass = {"type": "boolean", "const": False, "description": "Bypass this group's nodes for this call"}
        if not self.inputs:
            return {**bypass, "description": f"`${self.name}()`: node {nodes} exposes no input; `false` bypasses it for this call"}
        inputs = {
            "type": "object",
            "properties": {name: contract.schema() for name, contract in self.inputs.items()},
            "additionalProperties": False,
        }
        return {"oneOf": [inputs, bypass], "description": f"`${self.name}`: inputs of node {nodes}, or `false` to bypass it"}

    def example(self) -> dict[str, Any]:
        return {name: contract.default for name, contract in self.inputs.items()}


@dataclass(frozen=True)
class EndpointContract:
    groups: Mapping[str, GroupContract]

    def body_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {name: group.schema() for name, group in self.groups.items()},
            "additionalProperties": False,
        }

    def example(self) -> dict[str, Any]:
        """The saved values of every group that has inputs: what a run without a body uses."""
        return {name: group.example() for name, group in self.groups.items() if group.inputs}


def build_contract(endpoint: Endpoint, specs: SpecLookup) -> EndpointContract:
    return EndpointContract({name: _group(endpoint, group, specs) for name, group in endpoint.groups.items()})


def _group(endpoint: Endpoint, group: InputGroup, specs: SpecLookup) -> GroupContract:
    inputs = {}
    for input_name, saved in group.inputs.items():
        # Several nodes may share `$name`; the first node that has the input defines its contract.
        class_type = endpoint.prompt[group.targets[input_name][0]]["class_type"]
        spec = specs(class_type)
        inputs[input_name] = input_contract(group.name, input_name, saved, spec.input(input_name) if spec else None, class_type)
    class_types = tuple(str(endpoint.prompt[n]["class_type"]) for n in group.node_ids)
    return GroupContract(group.name, group.node_ids, class_types, inputs)


def input_contract(group: str, name: str, saved: Any, spec: InputSpec | None, class_type: str) -> InputContract:
    comfy: dict[str, Any] = {"class_type": class_type, "input": name}
    if spec is None or (spec.type not in _NUMERIC and spec.type not in _PLAIN and spec.type != "COMBO"):
        comfy["type"] = spec.type if spec else None
        return InputContract(group, name, saved, _json_type(saved), comfy=comfy)
    options = spec.options
    comfy["type"] = spec.type
    comfy.update({key: options[key] for key in ("step", "round", "multiline") if key in options})
    tooltip = options.get("tooltip")
    common: dict[str, Any] = {"description": tooltip if isinstance(tooltip, str) else None, "comfy": comfy}
    if spec.type == "COMBO":
        choices = spec.choices
        strings = choices is None or all(isinstance(c, str) for c in choices)
        file = _takes_upload(options)
        return InputContract(group, name, saved, "string" if strings else None, enum=choices, file=file, **common)
    if spec.type in _PLAIN:
        return InputContract(group, name, saved, _PLAIN[spec.type], **common)
    minimum, maximum = _number(options.get("min")), _number(options.get("max"))
    step = _int_step(options, minimum) if spec.type == "INT" else None
    return InputContract(group, name, saved, _NUMERIC[spec.type], minimum, maximum, step, **common)


def _same(value: Any, choice: Any) -> bool:
    # JSON Schema's equality: true is not 1.
    return bool(value == choice and isinstance(value, bool) == isinstance(choice, bool))


def _takes_upload(options: Mapping[str, Any]) -> bool:
    flagged = any(key.endswith("_upload") and value for key, value in options.items())
    return flagged and options.get("image_folder", _UPLOAD_FOLDER) == _UPLOAD_FOLDER


def _int_step(options: Mapping[str, Any], minimum: int | float | None) -> int | None:
    step = options.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step <= 1:
        return None
    # The editor snaps to min + k*step: exactly the multiples of step only when min is one.
    if minimum is not None and minimum % step != 0:
        return None
    return step


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _json_type(value: Any) -> str | list[str]:
    # An input ComfyUI does not describe (its node class is not installed, or a non-widget type):
    # the saved value's JSON type is all there is to go on. Never an array: `["4", 0]` is a link.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return ["boolean", "number", "string"]
