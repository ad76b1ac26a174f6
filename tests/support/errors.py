"""The one check of an error response: its status, the one JSON error shape, and what it names."""

from __future__ import annotations

import json
from typing import Any

import requests


def assert_error(response: requests.Response, status: int, type_: str, naming: str | None = None) -> dict[str, Any]:
    """The `error` object of `response`, after checking its status, `{"error": {type, message, details}}`
    with this `type_` and a non-empty message, and, given `naming`, that the message or details name it
    (a field, a path, a node: what a caller needs to fix the request)."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:2000]}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"type", "message", "details"}, error
    assert error["type"] == type_, error
    assert isinstance(error["message"], str) and error["message"], error
    if naming is not None:
        assert naming in error["message"] or naming in json.dumps(error["details"]), f"the error does not name {naming!r}: {error}"
    return dict(error)
