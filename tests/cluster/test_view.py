from __future__ import annotations

import logging

import pytest

from connect.cluster.link import shown_url
from connect.cluster.view import Connection


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    connection = Connection("redis://h:6379/0")
    connection.ok()
    with caplog.at_level(logging.INFO, "comfyui-connect"):
        for _ in range(50):  # a retry a second for 50 s
            connection.failed("ConnectionError: refused")
        assert connection.state()["redis"] == "down" and connection.state()["error"] == "ConnectionError: refused"
        connection.ok()
        connection.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "unreachable" in lines[0] and "answers again" in lines[1]
    assert connection.state()["redis"] == "up" and "error" not in connection.state()


def test_a_first_connection_that_fails_is_said_once_too(caplog: pytest.LogCaptureFixture) -> None:
    connection = Connection("redis://h:6379/0")
    with caplog.at_level(logging.INFO, "comfyui-connect"):
        connection.failed("refused")
        connection.failed("refused")
    assert len(caplog.records) == 1


def test_the_password_never_shows() -> None:
    assert shown_url("redis://:s3cret@10.0.0.1:6379/0") == "redis://:***@10.0.0.1:6379/0"
    assert shown_url("rediss://user:s3cret@h/1") == "rediss://user:***@h/1"
    assert shown_url("redis://h:6379/0") == "redis://h:6379/0"
