"""Session fixtures of the top-level end-to-end tests, and the one log-tail-on-failure hook of every suite.

Tests marked `e2e` here share `api` (one server for the whole session, so each test uses its own
workflow names); `strict_api` is a second server with the default (SSRF-safe) settings. A failing test
anywhere gets the tail of every involved server's log in its report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from launcher import ComfyServer
from support.client import Client
from support.filehost import FileHost
from support.server import prepare, serve
from support.suites import SETTINGS


@pytest.fixture(scope="session")
def comfy_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare(tmp_path_factory.mktemp("comfy"), models=True, inputs={})


@pytest.fixture(scope="session")
def api(comfy_base: Path) -> Iterator[Client]:
    # The tests serve URL inputs from 127.0.0.1, which the plugin refuses unless told otherwise.
    with serve(comfy_base, {**SETTINGS, "CONNECT_ALLOW_PRIVATE_URLS": "1"}) as client:
        yield client


@pytest.fixture(scope="session")
def strict_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A second server, in its own base directory, with the default (SSRF-safe) settings."""
    base = prepare(tmp_path_factory.mktemp("comfy-strict"), models=True, inputs={})
    with serve(base, {**SETTINGS, "CONNECT_ALLOW_PRIVATE_URLS": "0"}) as client:
        yield client


@pytest.fixture(scope="session")
def files() -> Iterator[FileHost]:
    host = FileHost()
    yield host
    host.close()


def _servers(item: pytest.Item) -> dict[Path, ComfyServer]:
    """The ComfyUI servers among a test's fixture values, bare or inside a client (or any `.server`)."""
    found: dict[Path, ComfyServer] = {}
    for value in getattr(item, "funcargs", {}).values():
        running = getattr(value, "server", value)
        if isinstance(running, ComfyServer):
            found[running.base] = running
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for base, running in _servers(item).items():
            report.sections.append((f"ComfyUI log tail ({base})", running.log_tail()))
    return report
