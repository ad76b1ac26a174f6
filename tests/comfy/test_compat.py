"""The adapter's start-up check and its version-dependent paths, against fakes of ComfyUI's internals.

The same paths run against real ComfyUIs in tests/jobs/test_jobs_comfy.py (0.3.75 and 0.33.0).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import types
from typing import Any

import pytest

from connect.comfy import compat
from connect.comfy.adapter import ComfyAdapter
from connect.comfy.compat import TESTED_VERSIONS, check_internals, missing_internals


class FakeQueue:
    def __init__(self, atomic: bool) -> None:
        self.mutex = threading.RLock()
        self.queue: list[tuple[Any, ...]] = []
        self.currently_running: dict[int, tuple[Any, ...]] = {}
        self.history: dict[str, Any] = {}
        self.interrupted: list[str] = []
        if atomic:
            self.interrupt_if_running = self._interrupt_if_running

    def task_done(self, item_id: int, history_result: dict[str, Any], status: Any, process_item: Any = None) -> None: ...

    def put(self, item: tuple[Any, ...]) -> None:
        self.queue.append(item)

    def delete_queue_item(self, function: Any) -> bool:
        for item in self.queue:
            if function(item):
                self.queue.remove(item)
                return True
        return False

    def get_tasks_remaining(self) -> int:
        return len(self.queue) + len(self.currently_running)

    def _interrupt_if_running(self, prompt_id: str) -> bool:
        with self.mutex:
            if any(item[1] == prompt_id for item in self.currently_running.values()):
                self.interrupted.append(prompt_id)
                return True
        return False


class FakeServer:
    def __init__(self, *, atomic: bool = True, replacements: bool = True) -> None:
        self.prompt_queue = FakeQueue(atomic)
        self.number, self.routes, self.loop = 0, object(), None
        self.app: dict[Any, Any] = {}
        self.calls: list[str] = []
        self.handled: list[dict[str, Any]] = []
        if replacements:
            self.node_replace_manager = types.SimpleNamespace(apply_replacements=self._replace)

    def send_sync(self, event: str, data: Any, sid: Any = None) -> None: ...

    def trigger_on_prompt(self, json_data: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("on_prompt")
        self.handled.append(dict(json_data))
        json_data["prompt"]["1"]["inputs"]["seen"] = True
        json_data["extra_data"]["api_key_comfy_org"] = "secret"
        return {**json_data, "client_id": "someone-else", "prompt_id": "another"}

    def _replace(self, prompt: dict[str, Any]) -> None:
        self.calls.append("replace")
        for node in prompt.values():
            if node["class_type"] == "Old":
                node["class_type"] = "New"


def fake_modules(server: FakeServer, version: str | None, monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    nodes = types.SimpleNamespace(NODE_CLASS_MAPPINGS={}, interrupted=0)

    def interrupt_processing(value: bool = True) -> None:
        nodes.interrupted += 1

    async def validate_prompt(prompt_id: str, prompt: dict[str, Any], partial_execution_list: Any) -> tuple[Any, ...]:
        server.calls.append("validate")
        return True, None, ["1"], {}

    nodes.interrupt_processing = interrupt_processing
    execution = types.SimpleNamespace(validate_prompt=validate_prompt, SENSITIVE_EXTRA_DATA_KEYS=("api_key_comfy_org",))
    monkeypatch.setitem(sys.modules, "nodes", nodes)
    monkeypatch.setitem(sys.modules, "execution", execution)
    monkeypatch.setitem(sys.modules, "folder_paths", types.SimpleNamespace())
    monkeypatch.setitem(sys.modules, "comfyui_version", types.SimpleNamespace(__version__=version))
    return nodes


def adapter(monkeypatch: pytest.MonkeyPatch, version: str | None = "0.33.0", **kind: bool) -> tuple[ComfyAdapter, FakeServer, Any]:
    server = FakeServer(**kind)
    nodes = fake_modules(server, version, monkeypatch)
    return ComfyAdapter(server), server, nodes


# -- the start-up check -------------------------------------------------------------------------------
@pytest.mark.parametrize("version", TESTED_VERSIONS)
def test_a_tested_version_starts_without_a_warning(version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    comfy, _, _ = adapter(monkeypatch, version)
    assert comfy.features.version == version
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("version", ["0.40.1", None])
def test_an_untested_version_with_every_internal_logs_one_line(
    version: str | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    comfy, _, _ = adapter(monkeypatch, version)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert (version or "unknown version") in warnings[0] and "0.3.75, 0.33.0" in warnings[0]
    assert comfy.features.on_prompt and comfy.features.replacements


def test_the_version_is_read_from_comfyui_version_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "comfyui_version", types.SimpleNamespace(__version__="0.33.0"))
    assert compat.comfyui_version() == "0.33.0"
    monkeypatch.setitem(sys.modules, "comfyui_version", None)  # import fails: a ComfyUI without the file
    assert compat.comfyui_version() is None


def test_a_missing_internal_fails_at_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer()
    fake_modules(server, "0.40.1", monkeypatch)
    del sys.modules["nodes"].interrupt_processing
    with pytest.raises(RuntimeError, match=r"ComfyUI 0\.40\.1 .*nodes\.interrupt_processing is missing"):
        ComfyAdapter(server)


def test_a_changed_signature_is_named_with_both_parameter_lists() -> None:
    server = FakeServer()

    def task_done(item_id: int, status: Any) -> None: ...

    server.prompt_queue.task_done = task_done  # type: ignore[method-assign,assignment]  # an unsupported signature, on purpose
    execution = types.SimpleNamespace(validate_prompt=lambda prompt_id, prompt, partial: None)
    nodes = types.SimpleNamespace(NODE_CLASS_MAPPINGS={}, interrupt_processing=lambda: None)
    problems = missing_internals(server, execution, nodes)
    assert problems == ["PromptQueue.task_done takes ['item_id', 'status'], not ['item_id', 'history_result', 'status']"]
    with pytest.raises(RuntimeError, match=r"tested on 0\.3\.75, 0\.33\.0"):
        check_internals(server, execution, nodes, "0.3.75")


def test_optional_internals_are_features_not_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    comfy, _, _ = adapter(monkeypatch, "0.3.75", atomic=False, replacements=False)
    assert (comfy.features.on_prompt, comfy.features.replacements, comfy.features.atomic_interrupt) == (True, False, False)


# -- admitting a prompt as POST /prompt does ----------------------------------------------------------
def test_admit_runs_on_prompt_then_replacements_then_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    comfy, server, _ = adapter(monkeypatch)
    prompt = {"1": {"class_type": "Old", "inputs": {}}}
    admitted = asyncio.run(comfy.admit("p-1", prompt, "connect-p-1", {"note": 1}))
    assert prompt == {"1": {"class_type": "Old", "inputs": {}}}  # the saved workflow's nodes stay as saved
    assert server.calls == ["on_prompt", "replace", "validate"]
    assert server.handled[0].keys() == {"prompt", "client_id", "extra_data", "prompt_id"}
    assert admitted.prompt == {"1": {"class_type": "New", "inputs": {"seen": True}}}
    # The plugin's ids win over a handler's: it follows its prompts by them.
    assert admitted.extra_data == {"note": 1, "api_key_comfy_org": "secret", "client_id": "connect-p-1"}
    assert admitted.validation.ok and admitted.validation.outputs == ["1"]

    comfy.enqueue("p-1", admitted.prompt, admitted.validation.outputs, admitted.extra_data)
    _, prompt_id, _, extra, _, sensitive = server.prompt_queue.queue[0]
    assert prompt_id == "p-1" and sensitive == {"api_key_comfy_org": "secret"} and "api_key_comfy_org" not in extra


def test_admit_without_replacements_only_runs_on_prompt_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    comfy, server, _ = adapter(monkeypatch, "0.3.75", replacements=False)
    admitted = asyncio.run(comfy.admit("p-2", {"1": {"class_type": "Old", "inputs": {}}}, "connect-p-2", {}))
    assert server.calls == ["on_prompt", "validate"] and admitted.prompt["1"]["class_type"] == "Old"


def test_a_handler_that_drops_the_prompt_is_an_invalid_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    comfy, server, _ = adapter(monkeypatch)
    monkeypatch.setattr(server, "trigger_on_prompt", lambda json_data: {"client_id": json_data["client_id"]})
    admitted = asyncio.run(comfy.admit("p-3", {"1": {"class_type": "A", "inputs": {}}}, "connect-p-3", {}))
    assert not admitted.validation.ok and admitted.validation.error is not None
    assert admitted.validation.error["type"] == "no_prompt" and "validate" not in server.calls


# -- cancelling ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("atomic", [True, False])
def test_cancel_removes_a_waiting_prompt_and_interrupts_only_a_running_one(atomic: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    comfy, server, nodes = adapter(monkeypatch, atomic=atomic)
    queue = server.prompt_queue
    queue.queue.append((1, "waiting", {}, {}, [], {}))
    queue.currently_running[0] = (0, "running", {}, {}, [], {})
    assert comfy.cancel("waiting") == "removed" and queue.queue == []
    assert comfy.cancel("finished") == "none" and nodes.interrupted == 0 and queue.interrupted == []
    assert comfy.cancel("running") == "interrupted"
    # 0.33.0 interrupts through its own atomic check; older ComfyUIs through the adapter's.
    assert (queue.interrupted, nodes.interrupted) == ((["running"], 0) if atomic else ([], 1))
