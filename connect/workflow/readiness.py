"""Can this prompt run on this ComfyUI? What it names that is not installed here.

    readiness(prompt, comfy.node_spec)
    -> Readiness(missing=(Missing("model_file", "1", "UpscaleModelLoader", "Upscaler", "model_name", "x4.safetensors"),))

Read from ComfyUI's own node definitions (the data behind /object_info), never from a table of ours,
so custom packs are judged like stock nodes:
- a class without a definition is not installed (``node_class``);
- a combo input's choices are what ComfyUI offers now: its loaders list the files of their model
  folder, LoadImage the input folder. A saved value outside them is a file (or option) this box lacks:
  ``input_file`` for an upload input (``image_upload``, ``video_upload``...), ``model_file`` for a
  value that is a file name, else ``choice`` (e.g. a sampler a custom pack adds).

Like ComfyUI's own validation, a missing class anywhere counts, inputs only of nodes an output node
needs, and a value outside the list is left to a node that checks that input itself (VALIDATE_INPUTS:
LoadImage takes a file in a subfolder): ``accepts`` says whether it would take this one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from ..comfy.nodespec import InputSpec, NodeSpec, SpecLookup
from .endpoint import Prompt, is_link, title_of

Kind = Literal["node_class", "model_file", "input_file", "choice"]
# (class_type, input name, value, kind) -> the node would take this value though its list does not show it
Accepts = Callable[[str, str, str, Kind], bool]
# A file name ends in a short extension that starts with a letter ("x.safetensors"; not "1.5").
_FILE_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,11}")
_NOUNS = {"model_file": "model file", "input_file": "input file", "choice": "option"}


@dataclass(frozen=True)
class Missing:
    kind: Kind
    node_id: str
    class_type: str
    title: str
    input: str | None = None
    value: Any = None

    def body(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "node_id": self.node_id,
            "class_type": self.class_type,
            "title": self.title,
            "input": self.input,
            "value": self.value,
        }

    def text(self) -> str:
        """'model file 'x4.safetensors' (node 1 'Upscaler', UpscaleModelLoader.model_name)'"""
        node = f"node {self.node_id}" + (f" {self.title!r}" if self.title else "")
        if self.kind == "node_class":
            return f"node class {self.class_type!r} ({node})"
        return f"{_NOUNS[self.kind]} {self.value!r} ({node}, {self.class_type}.{self.input})"


@dataclass(frozen=True)
class Readiness:
    missing: tuple[Missing, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.missing

    def body(self) -> dict[str, Any]:
        return {"ready": self.ready, "missing": [m.body() for m in self.missing]}

    def summary(self) -> str:
        """'not installed on this ComfyUI: model file 'x.safetensors' (node 1 ...) (and 2 more)'"""
        if not self.missing:
            return "everything it names is installed"
        more = f" (and {len(self.missing) - 1} more)" if len(self.missing) > 1 else ""
        return f"not installed on this ComfyUI: {self.missing[0].text()}{more}"


def _never(class_type: str, input_name: str, value: str, kind: Kind) -> bool:
    return False


def readiness(prompt: Prompt, specs: SpecLookup, accepts: Accepts = _never) -> Readiness:
    """What `prompt` names that this ComfyUI lacks; `specs` must read the definitions live (combo lists change)."""
    known: dict[str, NodeSpec | None] = {}
    for node in prompt.values():
        class_type = node["class_type"]
        if class_type not in known:
            known[class_type] = specs(class_type)
    missing = [
        Missing("node_class", node_id, node["class_type"], title_of(node))
        for node_id, node in prompt.items()
        if known[node["class_type"]] is None
    ]
    for node_id in _needed(prompt, known):
        node = prompt[node_id]
        spec = known[node["class_type"]]
        if spec is not None:
            missing.extend(_missing_values(node_id, node, spec, accepts))
    return Readiness(tuple(missing))


def _needed(prompt: Prompt, known: Mapping[str, NodeSpec | None]) -> list[str]:
    """The output nodes and every node they read from, in prompt order (ComfyUI validates only these)."""
    todo = [node_id for node_id, node in prompt.items() if (spec := known[node["class_type"]]) is not None and spec.output_node]
    seen: set[str] = set()
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in prompt:
            continue
        seen.add(node_id)
        todo.extend(value[0] for value in prompt[node_id].get("inputs", {}).values() if is_link(value))
    return [node_id for node_id in prompt if node_id in seen]


def _missing_values(node_id: str, node: Mapping[str, Any], spec: NodeSpec, accepts: Accepts) -> Iterator[Missing]:
    for name, value in node.get("inputs", {}).items():
        declared = spec.input(name)
        if declared is None or not _offers_choices(declared) or not isinstance(value, (str, int, float)):
            continue
        if value in (declared.choices or ()):
            continue
        kind = _kind(declared, value)
        if accepts(spec.class_type, name, str(value), kind):
            continue
        yield Missing(kind, node_id, spec.class_type, title_of(node), name, value)


def _offers_choices(declared: InputSpec) -> bool:
    # A "remote" combo fetches its list in the page; the server's definition holds none to judge by.
    return declared.type == "COMBO" and declared.choices is not None and not declared.options.get("remote")


def _kind(declared: InputSpec, value: Any) -> Kind:
    if any(flag.endswith("_upload") and on for flag, on in declared.options.items()):
        return "input_file"
    if isinstance(value, str) and _FILE_SUFFIX.fullmatch(PurePosixPath(value).suffix):
        return "model_file"
    return "choice"
