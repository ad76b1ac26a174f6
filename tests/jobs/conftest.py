"""The session server of the jobs tests and a webhook receiver per test (jobkit.py has the helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jobkit import ENV, TEST_NODES, WORKFLOWS, Jobs, Receiver
from launcher import ComfyServer, prepare_base


@pytest.fixture(scope="session")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    base = prepare_base(tmp_path_factory.mktemp("jobs") / "base", plugins={"connect_test_nodes": TEST_NODES})
    with ComfyServer(base, env=ENV).running() as server:
        client = Jobs(server)
        for name, prompt in WORKFLOWS.items():
            response = client.http.put(f"{client.api}/workflows/{name}", json={"prompt": prompt}, timeout=30)
            assert response.status_code == 201, response.text
        yield client


@pytest.fixture
def idle(jobs: Jobs) -> Iterator[Jobs]:
    """Nothing queued before or after the test: a leftover run would shift the next test's queue."""
    jobs.wait_idle()
    yield jobs
    jobs.http.post(jobs.server.url + "/queue", json={"clear": True}, timeout=30)
    jobs.http.post(jobs.server.url + "/interrupt", json={}, timeout=30)
    jobs.wait_idle()


@pytest.fixture(autouse=True)
def _log_tail_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "jobs" in request.fixturenames:
        print(f"--- ComfyUI log tail ---\n{request.getfixturevalue('jobs').server.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()
