"""Apply a caller's run payload to a saved endpoint's prompt.

    {"sampler": {"seed": 1234}, "debug": false, "load": {"image": {"type": "file", "content": "..."}}}

Each key names an input group (`$name`); its value is an object of exposed inputs, or `false` to
bypass the group's nodes for this call. File objects are handed to a resolver that stores the file
and returns the name the loader node should receive. Every problem is reported at once.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import PayloadError
from ..workflow.endpoint import Endpoint, InputGroup, Prompt

FileResolver = Callable[[str, Mapping[str, Any]], Awaitable[str]]


@dataclass
class Patched:
    prompt: Prompt
    bypass: set[str] = field(default_factory=set)


def is_file_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "file"


async def patch_prompt(endpoint: Endpoint, payload: Any, resolve_file: FileResolver) -> Patched:
    if not isinstance(payload, dict):
        raise PayloadError(
            "the request body must be a JSON object of input groups", {"problems": [_problem("", "type", "not an object", payload)]}
        )
    problems: list[dict[str, Any]] = []
    assignments: list[tuple[InputGroup, str, Any]] = []
    bypass: set[str] = set(endpoint.bypassed)
    for key, value in payload.items():
        group = endpoint.groups.get(key)
        if group is None:
            problems.append(
                _problem(key, "additionalProperties", f"unknown input group; exposed groups: {_listing(endpoint.groups)}", value)
            )
        elif value is False:
            bypass.update(group.node_ids)
        elif not isinstance(value, dict):
            problems.append(_problem(key, "oneOf", "must be an object of inputs, or false to bypass the node", value))
        else:
            assignments.extend(_check_group(group, value, problems))
    if problems:
        raise PayloadError(_summary(problems), {"problems": problems})
    prompt = dict(endpoint.prompt)
    for group, input_name, value in assignments:
        if isinstance(value, dict):
            value = await resolve_file(f"{group.name}.{input_name}", value)
        for node_id in group.targets[input_name]:
            node = prompt[node_id] = _own(prompt[node_id], endpoint.prompt[node_id])
            node["inputs"][input_name] = value
    return Patched(prompt, bypass)


def _check_group(group: InputGroup, values: Mapping[str, Any], problems: list[dict[str, Any]]) -> list[tuple[InputGroup, str, Any]]:
    accepted = []
    for input_name, value in values.items():
        path = f"{group.name}.{input_name}"
        if input_name not in group.inputs:
            exposed = ", ".join(group.inputs) or "none (this group can only be bypassed with false)"
            problems.append(_problem(path, "additionalProperties", f"not an exposed input; exposed: {exposed}", value))
        elif isinstance(value, (dict, list)) and not is_file_object(value):
            problems.append(_problem(path, "type", "must be a plain value (number, string, boolean) or a file object", value))
        else:
            accepted.append((group, input_name, value))
    return accepted


def _own(node: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    # Copy a node the first time it is patched, so the saved prompt is never mutated.
    if node is not saved:
        return node
    owned = copy.copy(node)
    owned["inputs"] = dict(node.get("inputs", {}))
    return owned


def _problem(path: str, rule: str, message: str, value: Any) -> dict[str, Any]:
    # The same entry shape as validation.py's, which checks the body first (see openapi PayloadProblem).
    return {"path": path, "rule": rule, "message": message, "value": _short(value)}


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    if isinstance(value, dict) and "content" in value:
        return {**value, "content": "<omitted>"}
    return value


def _listing(groups: Mapping[str, Any]) -> str:
    return ", ".join(groups) or "none"


def _summary(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    where = f"'{first['path']}': " if first["path"] else ""
    return f"{where}{first['message']}{more}"
