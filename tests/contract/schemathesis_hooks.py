"""Schemathesis hooks for test_schemathesis.py (loaded by name from schemathesis.toml)."""

from __future__ import annotations

from typing import Any

import schemathesis

# A run given a deadline of a few microseconds is cancelled with 504 by design (a documented answer,
# but a 5xx). Positive deadlines are raised to one no run here comes near; zero, negative and
# non-numeric ones are left alone, so the 400 for them is still tested.
_LEAST_TIMEOUT = 60.0


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    timeout = _number((case.query or {}).get("timeout"))
    if timeout is not None and 0 < timeout < _LEAST_TIMEOUT:
        case.query = {**case.query, "timeout": _LEAST_TIMEOUT}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
