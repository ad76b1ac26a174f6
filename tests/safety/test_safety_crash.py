"""A server of its own, with default settings, that these tests kill, break and restart.

- CORS is off when CONNECT_CORS_ORIGINS is not set.
- SIGKILL in the middle of a stream of saves, restart: every acknowledged save is there and whole.
- A silently dead prompt worker: /ready says so (503), runs answer 503 at once, /health still answers.
- Broken access settings: every route refuses (503) instead of serving without keys.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from launcher import ComfyServer
from support.errors import assert_error
from support.metrics import without_instance
from support.server import prepare
from support.workflows import chain, node

pytestmark = pytest.mark.e2e
KILLER = chain(node("ConnectTestKillWorker", "Kill"))


@dataclass
class Crash:
    base: Path
    server: ComfyServer
    acknowledged: dict[str, str] = field(default_factory=dict)  # name -> sha256 of the prompt saved

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Path:
        return self.base / "user" / "connect" / "workflows"

    def restart(self, env: dict[str, str] | None = None) -> None:
        self.server.stop()
        self.server = ComfyServer(self.base, env=env or {})
        self.server.start()


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crash]:
    # Not serve(): restarts replace the server, and the one running at the end is the one to stop.
    base = prepare(tmp_path_factory.mktemp("crash") / "base", test_nodes=True, inputs={})
    state = Crash(base, ComfyServer(base))
    try:
        state.server.start()
        yield state
    except BaseException:
        print(state.server.log_tail(120))
        raise
    finally:
        state.server.stop()


def _digest(prompt: Any) -> str:
    return hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()


def test_cors_is_off_by_default(crash: Crash) -> None:
    preflight = requests.options(
        crash.url + "/api/connect/workflows",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    call = requests.get(crash.url + "/api/connect/workflows", headers={"Origin": "https://app.example"}, timeout=30)
    assert "Access-Control-Allow-Origin" not in call.headers


def test_sigkill_mid_save_loses_no_acknowledged_endpoint_and_leaves_no_partial_file(crash: Crash) -> None:
    for i in range(3):
        prompt = chain()
        prompt["1"]["inputs"]["color"] = i
        assert requests.put(f"{crash.url}/api/connect/workflows/kept-{i}", json={"prompt": prompt}, timeout=30).status_code == 201
        crash.acknowledged[f"kept-{i}"] = _digest(prompt)
    stop = threading.Event()

    def storm() -> None:
        # Big bodies keep each write busy long enough for the kill to land in the middle of some.
        pad = "x" * 3_000_000
        i = 0
        while not stop.is_set():
            prompt = chain()
            prompt["1"]["inputs"]["color"] = 1000 + i
            try:
                response = requests.put(
                    f"{crash.url}/api/connect/workflows/storm-{i % 4}", json={"prompt": prompt, "workflow": pad}, timeout=30
                )
            except requests.RequestException:
                return  # the server is gone
            if response.status_code in (200, 201):
                crash.acknowledged[f"storm-{i % 4}"] = _digest(prompt)
            i += 1

    writer = threading.Thread(target=storm)
    writer.start()
    deadline = time.monotonic() + 60
    while sum(name.startswith("storm-") for name in crash.acknowledged) < 4:
        assert time.monotonic() < deadline, "the save storm did not get going"
        time.sleep(0.01)
    crash.server.kill()
    stop.set()
    writer.join(30)
    # What a kill inside write() leaves (the storm may or may not have hit that exact moment):
    (crash.store / ".storm-0.json.interrupted.tmp").write_bytes(b'{"version": 1, "prompt": {"1": {"cla')
    (crash.base / "input" / ".connect-interrupted.tmp").write_bytes(b"\x89PNG")

    crash.restart()
    listing = requests.get(crash.url + "/api/connect/workflows", timeout=30).json()
    assert listing["errors"] == {}, "a half-written endpoint"
    stored = {p.stem: json.loads(p.read_bytes()) for p in crash.store.glob("*.json")}
    for name, digest in crash.acknowledged.items():
        # A save that was acknowledged is on disk, whole; a storm name may hold a later, unacknowledged save.
        assert name in stored, f"acknowledged endpoint {name} lost"
        if name.startswith("kept-"):
            assert _digest(stored[name]["prompt"]) == digest
    assert not list(crash.store.rglob("*.tmp")) and not list((crash.base / "input").glob(".connect-*.tmp"))
    response = requests.post(crash.url + "/api/connect/workflows/kept-1", json={"canvas": {"color": 7}}, timeout=60)
    assert response.status_code == 200, response.text


def test_a_dead_prompt_worker_is_detected(crash: Crash) -> None:
    assert requests.put(crash.url + "/api/connect/workflows/killer", json={"prompt": KILLER}, timeout=30).status_code == 201
    assert requests.get(crash.url + "/api/connect/ready", timeout=30).status_code == 200
    died = requests.post(crash.url + "/api/connect/workflows/killer", json={}, timeout=60)
    assert "worker thread has stopped" in assert_error(died, 503, "unavailable")["message"]

    ready = requests.get(crash.url + "/api/connect/ready", timeout=30)
    assert assert_error(ready, 503, "unavailable")["details"]["worker_alive"] is False
    health = requests.get(crash.url + "/api/connect/health", timeout=30)
    assert health.status_code == 200 and health.json()["worker_alive"] is False
    refused = requests.post(crash.url + "/api/connect/workflows/kept-0", json={}, timeout=30)
    assert_error(refused, 503, "unavailable")
    assert "connect_prompt_worker_alive 0.0" in without_instance(requests.get(crash.url + "/api/connect/metrics", timeout=30).text)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        pytest.param({"CONNECT_API_KEYS": "short"}, "at least 16", id="short-key"),
        pytest.param({"CONNECT_PROTECT_ALL": "1"}, "needs at least one API key", id="protect-all-without-keys"),
        pytest.param({"CONNECT_PROTECT_ALL": "perhaps"}, "protect_all", id="not-a-boolean"),
    ],
)
def test_broken_access_settings_refuse_everything(crash: Crash, env: dict[str, str], reason: str) -> None:
    crash.restart(env)
    for path in ("/system_stats", "/api/connect/workflows", "/api/connect/health", "/"):
        error = assert_error(requests.get(crash.url + path, timeout=30), 503, "unavailable")
        assert reason in error["message"]
