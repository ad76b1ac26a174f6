from __future__ import annotations

import pytest

from connect.errors import InvalidJSON
from connect.http.jsonbody import parse_json


def test_json_is_parsed() -> None:
    assert parse_json(b'{"a": [1, 2.5, "x", null]}', "the body") == {"a": [1, 2.5, "x", None]}


@pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b'{"a": -Infinity}', b"{bad", b"\xff\xfe"])
def test_what_is_not_strict_json_is_refused_naming_the_source(raw: bytes) -> None:
    with pytest.raises(InvalidJSON, match=r"^the 'payload' part is not valid JSON: "):
        parse_json(raw, "the 'payload' part")
