"""JSON as the API reads it: strict JSON, refused with the one error shape.

payload = parse_json(raw, "the request body")   # or InvalidJSON naming what was not JSON
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidJSON


def parse_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"{what} is not valid JSON: {exc}") from exc


def _not_json(name: str) -> Any:
    # Python's json module reads NaN and Infinity, which JSON does not have (and which pass any min/max check).
    raise ValueError(f"{name} is not a JSON value")
