"""Session fixtures for the end-to-end tests: one real ComfyUI with the plugin, and a local file server.

Tests marked `e2e` share `api` (one server for the whole session, so each test uses its own workflow
names). A failing test gets the tail of every involved server's log in its report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from launcher import ComfyServer
from support import server
from support.api import Api
from support.fileserver import FileServer


@pytest.fixture(scope="session")
def comfy_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base: Path = server.prepare(tmp_path_factory.mktemp("comfy"))
    return base


@pytest.fixture(scope="session")
def comfy(comfy_base: Path) -> Iterator[ComfyServer]:
    # The tests serve URL inputs from 127.0.0.1, which the plugin refuses unless told otherwise.
    running = server.start(comfy_base, allow_private_urls=True)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def api(comfy: ComfyServer) -> Api:
    return Api(comfy)


@pytest.fixture(scope="session")
def strict_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A second server, in its own base directory, with the default (SSRF-safe) settings."""
    running = server.start(server.prepare(tmp_path_factory.mktemp("comfy-strict")), allow_private_urls=False)
    yield Api(running)
    running.stop()


@pytest.fixture(scope="session")
def files() -> Iterator[FileServer]:
    serving = FileServer()
    yield serving
    serving.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        servers = {}
        for value in getattr(item, "funcargs", {}).values():
            running = value.server if isinstance(value, Api) else value
            if isinstance(running, ComfyServer):
                servers[running.base] = running
        for base, running in servers.items():
            report.sections.append((f"ComfyUI log tail ({base})", running.log_tail()))
    return report
