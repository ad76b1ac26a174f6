"""The kit's own parts that need no ComfyUI: the file host and the error assertion."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from .errors import assert_error
from .filehost import FileHost


@pytest.fixture
def host() -> Iterator[FileHost]:
    serving = FileHost()
    yield serving
    serving.close()


def test_published_file_is_served_redirected_and_unsized(host: FileHost) -> None:
    url = host.publish("red.png", b"\x89PNG-bytes")
    assert url == host.url("/files/red.png")
    direct = requests.get(url, timeout=10)
    assert (direct.status_code, direct.content, direct.headers["Content-Length"]) == (200, b"\x89PNG-bytes", "10")
    hop = requests.get(host.url("/redirect/red.png"), allow_redirects=False, timeout=10)
    assert (hop.status_code, hop.headers["Location"]) == (302, "/files/red.png")
    unsized = requests.get(host.url("/unsized/red.png"), timeout=10)
    assert unsized.content == b"\x89PNG-bytes" and "Content-Length" not in unsized.headers
    assert requests.get(host.url("/files/absent.png"), timeout=10).status_code == 404


def test_a_held_file_is_answered_after_release(host: FileHost) -> None:
    host.publish("held.png", b"data")
    host.release()  # released before asking: the answer comes at once
    assert requests.get(host.url("/hold/held.png"), timeout=10).content == b"data"
    assert host.held.is_set()
    host.reset_hold()
    assert not host.held.is_set()


def test_posts_are_recorded_and_answered_by_the_script(host: FileHost) -> None:
    host.script = [500]
    first = requests.post(host.hook, json={"n": 1}, headers={"X-Test": "a"}, timeout=10)
    second = requests.post(host.hook, json={"n": 2}, timeout=10)
    assert (first.status_code, second.status_code) == (500, 204)
    one, two = host.wait_for(2)
    assert (one.json(), one.answered, one.headers["X-Test"]) == ({"n": 1}, 500, "a")
    assert (two.json(), two.answered) == ({"n": 2}, 204)


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


ERROR = {"error": {"type": "invalid_payload", "message": "canvas.width: 0 is below 1", "details": {"path": "canvas.width"}}}


def test_assert_error_returns_the_error_and_checks_what_it_names() -> None:
    assert assert_error(_response(422, ERROR), 422, "invalid_payload", naming="canvas.width") == ERROR["error"]


@pytest.mark.parametrize(
    ("status", "body", "type_", "naming"),
    [
        pytest.param(400, ERROR, "invalid_payload", None, id="other-status"),
        pytest.param(422, ERROR, "bad_request", None, id="other-type"),
        pytest.param(422, {**ERROR, "extra": 1}, "invalid_payload", None, id="extra-top-level-key"),
        pytest.param(422, {"error": {"type": "invalid_payload", "message": "m"}}, "invalid_payload", None, id="no-details"),
        pytest.param(422, {"error": {**ERROR["error"], "message": ""}}, "invalid_payload", None, id="empty-message"),
        pytest.param(422, ERROR, "invalid_payload", "canvas.height", id="names-another-field"),
    ],
)
def test_assert_error_fails_on_any_other_answer(status: int, body: object, type_: str, naming: str | None) -> None:
    with pytest.raises(AssertionError):
        assert_error(_response(status, body), 422, type_, naming)
