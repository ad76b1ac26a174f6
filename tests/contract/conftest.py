"""A real ComfyUI with the plugin for the contract tests, and the workflows they save into it.

Kept apart from tests/conftest.py on purpose: these fixtures start their own servers, each in its own
temporary base directory and on its own port. Helpers live in contract_support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contract_support import TXT2IMG, Api, invert_prompt, start_server
from launcher import ComfyServer


@pytest.fixture(scope="session")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    server = start_server(tmp_path_factory.mktemp("contract-comfy"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api(contract_server: ComfyServer) -> Api:
    client = Api(contract_server)
    client.save("txt2img", TXT2IMG)
    client.save("invert", invert_prompt())
    return client


@pytest.fixture(autouse=True)
def _log_tail_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    server = request.getfixturevalue("contract_server") if "contract_server" in request.fixturenames else None
    if report is not None and report.failed and server is not None:
        print(f"--- ComfyUI log tail ({server.log_path}) ---\n{server.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
