"""Check a run request body against the very JSON Schema the OpenAPI document shows for it.

    problems = check_body(contract, {"sampler": {"steps": 0, "color": 1}})
    -> [{"path": "sampler.color", "rule": "additionalProperties", "message": "not an exposed input ...", "value": 1},
        {"path": "sampler.steps", "rule": "minimum", "expected": 1, "message": "0 is less than the minimum of 1", "value": 0}]

Accepting or refusing is JSON Schema's verdict (jsonschema, draft 2020-12) on ``contract.body_schema()``,
so the server cannot drift from the document. This module only explains a refusal: it flattens
``oneOf``/``anyOf`` into the branch the value was meant for (a group given an object is judged as an
object of inputs, not also as "not false"), splits unknown keys into one problem each, and says what
each rule expected in the caller's names (``sampler.steps``, ``load.image.content``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..errors import PayloadError
from ..workflow.endpoint import Endpoint
from .schema import FILE_INPUT_REF, SHARED_SCHEMAS, EndpointContract

Problem = dict[str, Any]
_LIST_LIMIT = 20  # enums longer than this are named by size, not spelled out
_VALUE_LIMIT = 80
_REF_PHRASES = {
    FILE_INPUT_REF: "a file object",
    "#/components/schemas/FileContent": "a file object with base64 `content`",
    "#/components/schemas/FileURL": "a file object with a `url`",
    "#/components/schemas/FilePart": "a file object naming a multipart `part`",
}
# How long a workflow's validator is reused before its combo lists (model files) are read again.
_REUSE_SECONDS = 1.0
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "a boolean", "object": "an object"}


@dataclass(frozen=True)
class BodyCheck:
    """A contract with its compiled validator: building both costs more than checking a body."""

    contract: EndpointContract
    validator: Draft202012Validator

    @classmethod
    def of(cls, contract: EndpointContract) -> BodyCheck:
        # The components ride along in the root so `$ref: #/components/schemas/...` resolves as in the document.
        root = {**contract.body_schema(), "components": {"schemas": SHARED_SCHEMAS}}
        return cls(contract, Draft202012Validator(root))

    def problems(self, body: Any) -> list[Problem]:
        found = [p for error in self.validator.iter_errors(body) for p in _explain(error, self.contract)]
        # `{"type": "boolean", "const": false}` given {} breaks both keywords; `const` alone says it.
        consts = {p["path"] for p in found if p["rule"] == "const"}
        found = [p for p in found if not (p["rule"] == "type" and p["path"] in consts)]
        return sorted(found, key=lambda p: (p["path"], p["rule"]))


class BodyChecks:
    """Run bodies checked against each saved workflow's contract, built once and reused briefly.

    Combo lists are live (a model file copied in is accepted without a restart), so a validator is
    reused for at most ``_REUSE_SECONDS``, and a body it refuses is judged again by a fresh one before
    the refusal stands. A file removed within that second is still caught by ComfyUI's own validation.
    """

    def __init__(self, build: Callable[[Endpoint], EndpointContract], clock: Callable[[], float] = time.monotonic) -> None:
        self._build = build
        self._clock = clock
        self._checks: dict[str, tuple[Endpoint, float, BodyCheck]] = {}

    def validate(self, name: str, endpoint: Endpoint, body: Any) -> None:
        now = self._clock()
        kept = self._checks.get(name)
        if kept is not None and kept[0] is endpoint and now - kept[1] <= _REUSE_SECONDS and not kept[2].problems(body):
            return
        check = BodyCheck.of(self._build(endpoint))
        self._checks[name] = (endpoint, now, check)
        _raise_problems(check.problems(body))

    def clear(self) -> None:
        """Forget every validator (a workflow was saved or deleted)."""
        self._checks.clear()


def check_body(contract: EndpointContract, body: Any) -> list[Problem]:
    return BodyCheck.of(contract).problems(body)


def validate_body(contract: EndpointContract, body: Any) -> None:
    _raise_problems(check_body(contract, body))


def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise PayloadError(summary(problems), {"problems": problems})


def summary(problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    where = f"{first['path']}: " if first["path"] else ""
    return f"{where}{first['message']}{more}"


def _explain(error: ValidationError, contract: EndpointContract) -> Iterator[Problem]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        branch = _intended_branch(error)
        if branch is not None:
            for sub in branch:
                yield from _explain(sub, contract)
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        for key, value in error.instance.items():
            if key not in known:
                yield _problem(
                    [*error.absolute_path, key], "additionalProperties", _unknown(list(error.absolute_path), known, contract), value
                )
        return
    yield _problem(list(error.absolute_path), str(error.validator), _message(error), error.instance, _expected(error))


def _intended_branch(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the one branch the value was meant for, or None if that is not clear."""
    branches = _branches(error)
    # A branch wrong about the value's very kind (`type`, `const`) was not the one meant; among the
    # rest, one whose keys fit (no missing or unknown property) beats those whose keys do not.
    for wrong in (("type", "const"), ("type", "const", "required", "additionalProperties")):
        fitting = [errors for errors in branches if _fits(errors, wrong)]
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            return None
    return None


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    by_index: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        by_index.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return list(by_index.values())


def _fits(errors: list[ValidationError], wrong: tuple[str, ...]) -> bool:
    return not any(_misfit(sub, wrong) for sub in errors)


def _misfit(error: ValidationError, wrong: tuple[str, ...]) -> bool:
    if error.relative_path:
        return False  # about something inside the value, not the value itself
    if error.validator in ("oneOf", "anyOf") and error.context:
        return not any(_fits(branch, wrong) for branch in _branches(error))
    return error.validator in wrong


def _unknown(path: list[Any], known: Mapping[str, Any], contract: EndpointContract) -> str:
    names = ", ".join(known) or "none"
    if not path:
        return f"unknown input group; exposed groups: {names}"
    if len(path) == 1 and str(path[0]) in contract.groups:
        return f"not an exposed input of '{path[0]}'; exposed: {names}"
    return f"unknown property; allowed: {names}"


def _message(error: ValidationError) -> str:
    rule, value, instance = error.validator, error.validator_value, error.instance
    if rule == "type":
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in ([value] if isinstance(value, str) else value))
        return f"expected {wanted}, got {_json_kind(instance)}"
    if rule == "enum":
        if len(value) <= _LIST_LIMIT:
            return f"{_show(instance)} is not one of {json.dumps(value)}"
        return f"{_show(instance)} is not one of the {len(value)} allowed values (listed in the OpenAPI document)"
    if rule == "not":
        return "no value is accepted: ComfyUI offers no choices for this input now (no file of that kind is installed yet)"
    if rule == "const" and value is False:
        return "only false (bypass) is accepted: this group exposes no inputs"
    if rule in ("oneOf", "anyOf"):
        return "expected " + " or ".join(_phrase(branch) for branch in value)
    return str(error.message)


def _expected(error: ValidationError) -> Any:
    value = error.validator_value
    if error.validator in ("oneOf", "anyOf", "not") or (isinstance(value, list) and len(value) > _LIST_LIMIT):
        return None
    return value


def _phrase(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "a value"
    if schema.get("$ref") in _REF_PHRASES:
        return _REF_PHRASES[schema["$ref"]]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return f"one of {len(schema['enum'])} allowed values"
    if "required" in schema and "type" not in schema:
        return "exactly one of " + ", ".join(f"'{k}'" for k in schema["required"])
    if schema.get("type") == "object" and "properties" in schema:
        return "an object of its inputs (" + ", ".join(schema["properties"]) + ")"
    kind = schema.get("type")
    return _TYPE_NAMES.get(kind, str(kind)) if isinstance(kind, str) else "a value"


def _problem(path: list[Any], rule: str, message: str, value: Any, expected: Any = None) -> Problem:
    problem: Problem = {"path": ".".join(str(p) for p in path), "rule": rule, "message": message, "value": _short(value)}
    if expected is not None:
        problem["expected"] = expected
    return problem


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an array" if isinstance(value, list) else "an object"


def _show(value: Any) -> str:
    return json.dumps(_short(value))


def _short(value: Any) -> Any:
    # Echo the caller's value, but never a whole base64 file or a page of text.
    if isinstance(value, str) and len(value) > _VALUE_LIMIT:
        return value[: _VALUE_LIMIT - 3] + "..."
    if isinstance(value, dict):
        is_file = value.get("type") == "file"
        return {k: "<omitted>" if is_file and k == "content" else _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value[:_LIST_LIMIT]]
    return value
