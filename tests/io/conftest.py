"""The servers of the input/output tests (see iokit.py for what each is for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from iokit import MAX_BODY, MAX_FILE, MAX_PIXELS, TEST_NODES, WORKFLOWS, FileHost, Io
from launcher import ComfyServer, prepare_base
from mediakit import png, tone, video

KEY = "io-admin-key-0123456789abcdef"


def start(root: Path, extra_args: list[str] | None = None, **env: str) -> Io:
    base = prepare_base(root, plugins={"connect_test_nodes": TEST_NODES})
    (base / "input" / "example.png").write_bytes(png())
    (base / "input" / "example.webm").write_bytes(video([(0, 0, 0)]))
    (base / "input" / "example.flac").write_bytes(tone())
    server = ComfyServer(base, env={"CONNECT_ALLOW_PRIVATE_URLS": "1", **env}, extra_args=extra_args or [])
    try:
        server.start()
        for name, prompt in WORKFLOWS.items():
            headers = {"Authorization": f"Bearer {KEY}"} if env.get("CONNECT_API_KEYS") else {}
            response = requests.put(f"{server.url}/api/connect/workflows/{name}", json={"prompt": prompt}, headers=headers, timeout=30)
            assert response.status_code in (200, 201), response.text
    except BaseException:
        print(server.log_tail(120))
        server.stop()
        raise
    return Io(server, base, KEY if env.get("CONNECT_API_KEYS") else None)


@pytest.fixture(scope="session")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Io]:
    limits = {"CONNECT_MAX_FILE_BYTES": str(MAX_FILE), "CONNECT_MAX_BODY_BYTES": str(MAX_BODY), "CONNECT_MAX_IMAGE_PIXELS": str(MAX_PIXELS)}
    instance = start(tmp_path_factory.mktemp("io"), ["--disable-metadata"], **limits)
    yield instance
    instance.server.stop()


@pytest.fixture(scope="session")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Io]:
    # Files carry ComfyUI's metadata chunks (CONNECT_METADATA=full): proof a file is the one SaveImage wrote.
    instance = start(tmp_path_factory.mktemp("io-kept"), CONNECT_KEEP_OUTPUTS="1", CONNECT_FILE_URL_TTL="2", CONNECT_METADATA="full")
    yield instance
    instance.server.stop()


@pytest.fixture(scope="session")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Io]:
    # With an API key: download links must work without one.
    instance = start(tmp_path_factory.mktemp("io-expiring"), CONNECT_FILE_URL_TTL="2", CONNECT_API_KEYS=KEY)
    yield instance
    instance.server.stop()


@pytest.fixture(scope="session")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Io]:
    # Stored input files live 2 s after they were last sent; swept twice a second.
    instance = start(tmp_path_factory.mktemp("io-short-lived"), CONNECT_INPUT_TTL="2", CONNECT_INPUT_SWEEP="0.5")
    yield instance
    instance.server.stop()


@pytest.fixture(scope="session")
def host() -> Iterator[FileHost]:
    files = FileHost()
    yield files
    files.close()


@pytest.fixture(autouse=True)
def _log_tail_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in ("comfy", "kept", "expiring", "short_lived"):
            if name in request.fixturenames:
                server: Io = request.getfixturevalue(name)
                print(f"--- ComfyUI log tail ({name}: {server.server.log_path}) ---\n{server.server.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
