from __future__ import annotations

import json
import re

import pytest

import connect.errors as errors
from connect.errors import ConnectError, error_body


def every_error_class() -> list[type[ConnectError]]:
    found, todo = [], [ConnectError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


EXPECTED_STATUS = {
    "ConnectError": 500,
    "BadRequest": 400,
    "InvalidJSON": 400,
    "InvalidName": 400,
    "InvalidWorkflow": 400,
    "AnnotationError": 400,
    "PayloadError": 422,
    "BypassError": 400,
    "InputFileError": 400,
    "LimitExceeded": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "TooManyRequests": 429,
    "Unavailable": 503,
    "NotFound": 404,
    "NotAcceptable": 406,
    "PayloadTooLarge": 413,
    "RunInterrupted": 409,
    "ConvertError": 422,
    "PromptInvalid": 422,
    "IdempotencyMismatch": 422,
    "ExecutionFailed": 500,
    "WorkflowCorrupt": 500,
    "RunTimeout": 504,
    "ServerRestarted": 503,
    "ClusterUnavailable": 503,
    "OutputTooLarge": 500,
    "DeadLettered": 500,
}


def test_the_table_covers_every_error_class() -> None:
    assert sorted(cls.__name__ for cls in every_error_class()) == sorted(EXPECTED_STATUS)


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_the_module_docstring_tree_shows_every_error_and_its_status(cls: type[ConnectError]) -> None:
    found = re.search(rf"[─ ]{cls.__name__}\b(?: \((\d+)\))?", errors.__doc__ or "")
    assert found is not None
    assert found.group(1) in (None, str(cls.status))


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_error_renders_the_one_shape_with_its_status(cls: type[ConnectError]) -> None:
    error = cls("something is wrong", {"path": "sampler.steps"})
    assert error.status == EXPECTED_STATUS[cls.__name__]
    body = error.body()
    assert body == {"error": {"type": cls.type, "message": "something is wrong", "details": {"path": "sampler.steps"}}}
    assert json.loads(json.dumps(body)) == body
    assert str(error) == "something is wrong"


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_details_default_to_null(cls: type[ConnectError]) -> None:
    assert cls("m").body() == {"error": {"type": cls.type, "message": "m", "details": None}}


def test_error_types_are_distinct_snake_case_names() -> None:
    types = [cls.type for cls in every_error_class()]
    assert len(types) == len(set(types))
    assert all(t.replace("_", "").isalpha() and t == t.lower() for t in types)


def test_bad_requests_share_the_400_base() -> None:
    for cls in every_error_class():
        assert issubclass(cls, errors.BadRequest) == (cls.status == 400), cls.__name__


def test_error_body_is_the_same_shape() -> None:
    assert error_body("payload_too_large", "too big") == {"error": {"type": "payload_too_large", "message": "too big", "details": None}}
