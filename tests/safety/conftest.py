"""The session server of the "safe to expose" tests (see safetykit.py for the layout and helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from launcher import ComfyServer, prepare_base
from safetykit import ADMIN, CORS_ORIGIN, KEYS_ENV, KEYS_FILE, LIMITS, TEST_NODES, WORKFLOWS, FileHost, Safe, png


@pytest.fixture(scope="session")
def safe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Safe]:
    root = tmp_path_factory.mktemp("safety")
    base = prepare_base(root / "base", plugins={"connect_test_nodes": TEST_NODES})
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png(color=(1, 2, 3)))
    (outside / "victim.json").write_text('{"untouched": true}')
    (base / "input" / "example.png").write_bytes(png())
    keys_file = root / "keys.txt"
    keys_file.write_text(KEYS_FILE)
    env = {
        "CONNECT_API_KEYS": KEYS_ENV,
        "CONNECT_API_KEYS_FILE": str(keys_file),
        "CONNECT_PROTECT_ALL": "1",
        "CONNECT_CORS_ORIGINS": CORS_ORIGIN,
        **LIMITS,
    }
    with ComfyServer(base, env=env).running() as server:
        instance = Safe(server, root, base)
        for name, prompt in WORKFLOWS.items():
            response = instance.call("PUT", f"/api/connect/workflows/{name}", ADMIN, {"prompt": prompt})
            assert response.status_code == 201, response.text
        yield instance


@pytest.fixture
def idle(safe: Safe) -> Iterator[Safe]:
    """The server with nothing queued before and after the test (faults must not leak into the next one)."""
    safe.wait_idle()
    yield safe
    safe.call("POST", "/queue", ADMIN, {"clear": True})
    safe.call("POST", "/interrupt", ADMIN, {})
    safe.wait_idle()


@pytest.fixture(scope="session")
def files_host(safe: Safe) -> Iterator[FileHost]:
    host = FileHost(safe.server.port)
    yield host
    host.close()
