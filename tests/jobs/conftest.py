"""The session server of the jobs tests, and a webhook receiver per test (support/suites.py has its settings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.client import Client
from support.filehost import FileHost
from support.server import prepare, serve
from support.suites import JOBS_ENV, JOBS_WORKFLOWS


@pytest.fixture(scope="session")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    base = prepare(tmp_path_factory.mktemp("jobs") / "base", test_nodes=True, inputs={})
    with serve(base, JOBS_ENV, workflows=JOBS_WORKFLOWS) as client:
        yield client


@pytest.fixture
def idle(jobs: Client) -> Iterator[Client]:
    """Nothing queued before or after the test: a leftover run would shift the next test's queue."""
    jobs.wait_idle()
    yield jobs
    jobs.clear()


@pytest.fixture
def receiver() -> Iterator[FileHost]:
    hook = FileHost()
    yield hook
    hook.close()
