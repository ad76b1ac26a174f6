"""Run a patched prompt on ComfyUI's own queue and wait for its result.

    result = await executor.run(saved, prompt, timeout=600)

The future is registered before the prompt is queued, so a fully cached run that completes at once
is never missed. ComfyUI's validation and execution errors are mapped back to the caller's names.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from .comfy import ComfyAdapter
from .errors import ConnectError, ExecutionFailed, PromptInvalid, RunInterrupted, RunTimeout, Unavailable
from .workflow import Endpoint, Prompt, title_of

# How often a waiting run checks that its prompt is still on ComfyUI's queue and the worker lives.
_POLL_SECONDS = 0.5
Outcome = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class RunResult:
    prompt_id: str
    outputs: dict[str, Any]  # node id -> UI output
    messages: list[Any]
    waited: float = 0.0  # seconds from queueing to the completion seen here: ComfyUI's share of the call


class Executor:
    def __init__(self, comfy: ComfyAdapter) -> None:
        self.comfy = comfy
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._loop = asyncio.get_event_loop() if comfy.loop is None else comfy.loop
        comfy.on_complete(self._completed)

    async def run(self, endpoint: Endpoint, prompt: Prompt, timeout: float) -> RunResult:
        prompt_id = self.comfy.new_prompt_id()
        checked = await self.comfy.validate(prompt_id, prompt)
        # ComfyUI runs the outputs that validate and drops the rest ("Output will be ignored"), which
        # would answer 200 with an empty list for a broken `#` output: any node error fails the call.
        if not checked.ok or checked.node_errors:
            raise validation_error(endpoint, prompt, checked.error, checked.node_errors)
        future = self._loop.create_future()
        self._waiting[prompt_id] = future
        queued = time.perf_counter()
        try:
            self.comfy.enqueue(prompt_id, prompt, checked.outputs, {"client_id": f"connect-{prompt_id}"})
            status, history = await self._wait(prompt_id, future, timeout)
        except asyncio.TimeoutError:
            self.comfy.cancel(prompt_id)
            raise RunTimeout(
                f"the run did not finish within {timeout:g} s and was cancelled", {"prompt_id": prompt_id, "timeout": timeout}
            ) from None
        except asyncio.CancelledError:
            # Nobody will read the result (the client went away, or the server is stopping): free the worker.
            self.comfy.cancel(prompt_id)
            raise
        finally:
            self._waiting.pop(prompt_id, None)
        messages = list(status.get("messages") or [])
        if status.get("status_str") != "success":
            raise execution_error(endpoint, prompt, prompt_id, messages)
        return RunResult(prompt_id, dict(history.get("outputs") or {}), messages, time.perf_counter() - queued)

    async def _wait(self, prompt_id: str, future: asyncio.Future[Outcome], timeout: float) -> Outcome:
        """The prompt's outcome; fails early if the prompt leaves the queue unrun or the worker dies."""
        deadline = self._loop.time() + timeout
        gone = 0
        while True:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            done, _ = await asyncio.wait({future}, timeout=min(_POLL_SECONDS, remaining))
            if done:
                return future.result()
            if not self.comfy.worker_alive():
                raise Unavailable(
                    "ComfyUI's prompt worker thread has stopped, so nothing can run; restart ComfyUI", {"prompt_id": prompt_id}
                )
            # Seen gone twice in a row: a prompt that just finished is resolved within one poll.
            gone = gone + 1 if self.comfy.prompt_state(prompt_id) == "gone" else 0
            if gone >= 2:
                raise RunInterrupted("the prompt was removed from ComfyUI's queue before it ran", {"prompt_id": prompt_id})

    def _completed(self, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> None:
        # Runs on ComfyUI's worker thread.
        if prompt_id in self._waiting:
            self._loop.call_soon_threadsafe(self._resolve, prompt_id, status, history)

    def _resolve(self, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> None:
        future = self._waiting.get(prompt_id)
        if future is not None and not future.done():
            future.set_result((status, history))


def exposed_names(endpoint: Endpoint) -> dict[tuple[str, str], str]:
    """(node id, input) -> "group.input" for every exposed input."""
    return {
        (node_id, inp): f"{group.name}.{inp}" for group in endpoint.groups.values() for inp, ids in group.targets.items() for node_id in ids
    }


def _node_label(prompt: Prompt, node_id: str) -> str:
    node = prompt.get(node_id, {})
    title = title_of(node)
    return f"node {node_id} ({title!r}, {node.get('class_type')})" if title else f"node {node_id} ({node.get('class_type')})"


def validation_error(endpoint: Endpoint, prompt: Prompt, error: dict[str, Any] | None, node_errors: dict[str, Any]) -> PromptInvalid:
    names = exposed_names(endpoint)
    problems = []
    for node_id, entry in node_errors.items():
        for err in entry.get("errors", []):
            input_name = (err.get("extra_info") or {}).get("input_name")
            path = names.get((node_id, input_name)) if input_name else None
            path = path or (f"{_node_label(prompt, node_id)}.{input_name}" if input_name else _node_label(prompt, node_id))
            problems.append(
                {
                    "path": path,
                    "node_id": node_id,
                    "class_type": entry.get("class_type"),
                    "type": err.get("type"),
                    "message": err.get("message"),
                    "details": err.get("details"),
                }
            )
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        detail = f" ({first['details']})" if first.get("details") else ""
        return PromptInvalid(f"{first['path']}: {first['message']}{detail}{more}", {"problems": problems})
    error = error or {}
    return PromptInvalid(
        f"ComfyUI rejected the prompt: {error.get('message', 'invalid prompt')}"
        + (f" ({error['details']})" if error.get("details") else ""),
        {"problems": [{"path": "", "type": error.get("type"), "message": error.get("message"), "details": error.get("details")}]},
    )


def execution_error(endpoint: Endpoint, prompt: Prompt, prompt_id: str, messages: list[Any]) -> ConnectError:
    events = {event: data for event, data in (m for m in messages if isinstance(m, (list, tuple)) and len(m) == 2)}
    if "execution_interrupted" in events:
        data = events["execution_interrupted"]
        return RunInterrupted("the run was interrupted before it finished", {"prompt_id": prompt_id, "node_id": data.get("node_id")})
    data = events.get("execution_error", {})
    node_id = str(data.get("node_id", ""))
    return ExecutionFailed(
        f"{_node_label(prompt, node_id)} failed: {data.get('exception_message', 'unknown error').strip()}",
        {
            "prompt_id": prompt_id,
            "node_id": node_id,
            "title": endpoint.title(node_id),
            "class_type": data.get("node_type"),
            "exception_type": data.get("exception_type"),
            "exception_message": data.get("exception_message"),
        },
    )
