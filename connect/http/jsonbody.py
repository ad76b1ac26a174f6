"""Reading what a caller sent: strict JSON, and any body that cannot be read, refused as a 400.

payload = parse_json(raw, "the request body")   # or InvalidJSON naming what was not JSON
with unreadable("the login form"):               # a failure while reading or parsing -> BadRequest
    form = await request.post()
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from aiohttp.web_protocol import RequestPayloadError

from ..errors import BadRequest, InvalidJSON

# What aiohttp and the parsers raise on a body that cannot be read: a multipart part header without a
# colon or too long (HttpProcessingError), a bad gzip/deflate body (RequestPayloadError), an unknown
# charset (LookupError), a part cut short (AssertionError "Reading after EOF"), a missing boundary or
# invalid UTF-8 (ValueError); a malformed Content-Disposition is a warning, an error where warnings are
# (as in the tests). Over the size cap is not among them: that stays a 413.
UNREADABLE = (
    ValueError,
    LookupError,
    AssertionError,
    RecursionError,
    HttpProcessingError,
    RequestPayloadError,
    BadContentDispositionHeader,
    BadContentDispositionParam,
)
# An escaped UTF-16 surrogate (\ud800-\udfff): a lone one parses into a str that cannot be encoded again.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


@contextmanager
def unreadable(what: str) -> Iterator[None]:
    try:
        yield
    except UNREADABLE as exc:
        raise BadRequest(f"{what} cannot be read: {exc or type(exc).__name__}") from exc


def parse_json(raw: bytes, what: str) -> Any:
    try:
        value = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        if _SURROGATE.search(raw) or b"\x00" in raw[:4]:  # UTF-16/32 bodies are not searched above: check them all
            json.dumps(value, ensure_ascii=False).encode()
        return value
    except (ValueError, UnicodeError) as exc:
        raise InvalidJSON(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError:  # nested deeper than Python's parser goes
        raise InvalidJSON(f"{what} is not valid JSON: nested too deeply") from None


def _not_json(name: str) -> Any:
    # Python's json module reads NaN and Infinity, which JSON does not have (and which pass any min/max check).
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError(f"{text[:40]} is too large for a number")
    return value
