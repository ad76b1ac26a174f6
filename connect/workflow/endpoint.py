"""A saved API-format prompt read as an endpoint: its input groups, outputs, bypassed and cached nodes.

    endpoint = parse_endpoint(prompt)
    endpoint.groups["sampler"].inputs   -> {"seed": 1, "steps": 20, ...}  (saved values)
    endpoint.outputs["output"]          -> ("9",)

Every problem found in the titles is reported at once, each naming its node id and title.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AnnotationError, InvalidWorkflow
from .annotations import Annotations, InputAnnotation, TitleError, parse_title

Prompt = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class InputGroup:
    name: str
    node_ids: tuple[str, ...]
    # Exposed input -> value saved in the workflow (from the first node of the group that has it).
    inputs: Mapping[str, Any]
    # Exposed input -> the nodes of the group that have it.
    targets: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Endpoint:
    prompt: Prompt
    groups: Mapping[str, InputGroup]
    outputs: Mapping[str, tuple[str, ...]]
    bypassed: tuple[str, ...]
    cached: tuple[str, ...]

    def title(self, node_id: str) -> str:
        return title_of(self.prompt.get(node_id, {}))


def is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def title_of(node: Mapping[str, Any]) -> str:
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) else ""


def check_prompt(prompt: Any) -> Prompt:
    if not isinstance(prompt, dict) or not prompt:
        raise InvalidWorkflow("'prompt' must be a non-empty object of nodes keyed by id (ComfyUI API format)")
    for node_id, node in prompt.items():
        where = f"prompt[{node_id!r}]"
        if not isinstance(node, dict):
            raise InvalidWorkflow(f"{where} must be an object with 'class_type' and 'inputs'")
        if not isinstance(node.get("class_type"), str):
            raise InvalidWorkflow(f"{where}.class_type must be a string", {"node_id": node_id})
        if not isinstance(node.get("inputs", {}), dict):
            raise InvalidWorkflow(f"{where}.inputs must be an object", {"node_id": node_id})
        for value in node.get("inputs", {}).values():
            if is_link(value) and value[0] not in prompt:
                raise InvalidWorkflow(f"{where} links to node {value[0]!r}, which is not in the prompt", {"node_id": node_id})
    return prompt


def parse_endpoint(prompt: Any) -> Endpoint:
    prompt = check_prompt(prompt)
    problems: list[dict[str, str]] = []
    parsed: dict[str, Annotations] = {}
    for node_id, node in prompt.items():
        try:
            parsed[node_id] = parse_title(title_of(node))
        except TitleError as exc:
            problems.append(_problem(node_id, node, str(exc)))
    groups = _collect_groups(prompt, parsed, problems)
    # Every `$` name, also those whose group has problems of its own (and so is not in `groups`).
    input_names = {note.name for notes in parsed.values() for note in notes.inputs}
    outputs: dict[str, list[str]] = {}
    for node_id, notes in parsed.items():
        for name in notes.outputs:
            outputs.setdefault(name, []).append(node_id)
            if name in input_names:
                problems.append(_problem(node_id, prompt[node_id], f"'{name}' is used both as an input ($) and an output (#)"))
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise AnnotationError(f"node {first['node_id']} ({first['title']!r}): {first['problem']}{more}", {"problems": problems})
    return Endpoint(
        prompt=prompt,
        groups=groups,
        outputs={name: tuple(ids) for name, ids in outputs.items()},
        bypassed=tuple(node_id for node_id, notes in parsed.items() if notes.bypass),
        cached=tuple(node_id for node_id, notes in parsed.items() if notes.cache),
    )


def _problem(node_id: str, node: Mapping[str, Any], problem: str) -> dict[str, str]:
    return {"node_id": node_id, "title": title_of(node), "class_type": str(node.get("class_type")), "problem": problem}


def _collect_groups(prompt: Prompt, parsed: Mapping[str, Annotations], problems: list[dict[str, str]]) -> dict[str, InputGroup]:
    members: dict[str, list[tuple[str, InputAnnotation]]] = {}
    for node_id, notes in parsed.items():
        for note in dict.fromkeys(notes.inputs):  # "$a [$a]" names its node once
            members.setdefault(note.name, []).append((node_id, note))
    groups = {}
    for name, entries in members.items():
        group = _build_group(prompt, name, entries, problems)
        if group is not None:
            groups[name] = group
    return groups


def _build_group(
    prompt: Prompt, name: str, entries: list[tuple[str, InputAnnotation]], problems: list[dict[str, str]]
) -> InputGroup | None:
    filters = {note.only for _, note in entries}
    if len(filters) > 1:
        node_id = entries[1][0]
        shown = ", ".join(sorted(_filter_text(name, f) for f in filters))
        problems.append(_problem(node_id, prompt[node_id], f"'${name}' is given different input filters on different nodes: {shown}"))
        return None
    inputs: dict[str, Any] = {}
    targets: dict[str, list[str]] = {}
    ok = True
    for node_id, note in entries:
        widgets = {k: v for k, v in prompt[node_id].get("inputs", {}).items() if not is_link(v)}
        wanted = list(widgets) if note.only is None else list(note.only)
        for input_name in wanted:
            if input_name not in widgets:
                ok = False
                problems.append(_problem(node_id, prompt[node_id], _missing_input(name, input_name, prompt[node_id], widgets)))
                continue
            inputs.setdefault(input_name, widgets[input_name])
            targets.setdefault(input_name, []).append(node_id)
    if not ok:
        return None
    return InputGroup(name, tuple(n for n, _ in entries), inputs, {k: tuple(v) for k, v in targets.items()})


def _filter_text(name: str, only: tuple[str, ...] | None) -> str:
    return f"${name}" if only is None else f"${name}({','.join(only)})"


def _missing_input(group: str, input_name: str, node: Mapping[str, Any], widgets: Mapping[str, Any]) -> str:
    if input_name in node.get("inputs", {}):
        return f"'${group}({input_name})': input '{input_name}' is linked to another node; links are never exposed"
    known = ", ".join(widgets) or "none"
    return f"'${group}({input_name})': {node.get('class_type')} has no widget input '{input_name}' (it has: {known})"
