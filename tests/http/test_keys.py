"""Typed request values: web.RequestKey where aiohttp has it (3.14+), a namespaced string on 3.13."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from connect.http.keys import KEY, STARTED, RequestValue

CONNECT = Path(__file__).parent.parent / "connect"


def test_a_value_round_trips_on_a_request() -> None:
    request = make_mocked_request("GET", "/connect/health")
    assert STARTED.get(request) is None and KEY.get(request) is None
    STARTED.set(request, 1.5)
    assert STARTED.get(request) == 1.5
    assert STARTED.get(request.clone()) == 1.5  # the body-limit and CORS middlewares hand on clones


def test_the_typed_key_of_aiohttp_is_used_when_it_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, object]] = []

    class RequestKey:  # stands in for aiohttp 3.14's
        def __init__(self, name: str, kind: object) -> None:
            made.append((name, kind))

    monkeypatch.setattr(web, "RequestKey", RequestKey, raising=False)
    value: RequestValue[int] = RequestValue("connect.test", int)
    assert isinstance(value.key, RequestKey) and made == [("connect.test", int)]
    request = make_mocked_request("GET", "/")
    value.set(request, 7)
    assert value.get(request) == 7 and "connect.test" not in request


def test_without_it_the_key_is_a_namespaced_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(web, "RequestKey", raising=False)
    assert RequestValue("connect.test", int).key == "connect.test"


# aiohttp 3.14 warns (NotAppKeyWarning) on a string key; under filterwarnings=error that is a 500.
_STRING_KEY = re.compile(r"""(request|app)(\.get\(|\[)\s*["']""")


def test_no_module_indexes_a_request_or_the_app_by_a_string() -> None:
    found = [
        f"{path.relative_to(CONNECT)}: {line.strip()}"
        for path in sorted(CONNECT.rglob("*.py"))
        for line in path.read_text().splitlines()
        if _STRING_KEY.search(line)
    ]
    assert found == []
