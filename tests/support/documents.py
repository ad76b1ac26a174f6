"""Checks of live responses against the OpenAPI document the plugin serves."""

from __future__ import annotations

from typing import Any

import requests
from jsonschema import Draft202012Validator


def documented_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema the document gives for one response, with its components alongside."""
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def assert_documented(document: dict[str, Any], path: str, method: str, response: requests.Response) -> None:
    """The response's status is documented for the operation and its body matches that schema."""
    schema = documented_schema(document, path, method, response.status_code)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(response.json())]
    assert not errors, f"{method} {path} -> {response.status_code} breaks the document: {errors}\n{response.text[:2000]}"
