"""Put a patched prompt on ComfyUI's own queue and follow it until it ends.

    await executor.submit(endpoint, prompt, prompt_id)     # validated and queued, or PromptInvalid
    outcome = await executor.wait(prompt_id)                # ComfyUI's outcome (comfy/outcome.py)
    result = executor.result(endpoint, prompt, outcome)     # the run's result, or its error

The future is registered before the prompt is queued, so a fully cached run that completes at once
is never missed. ComfyUI's validation and execution errors are mapped back to the caller's names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..comfy.adapter import CLIENT_PREFIX
from ..comfy.engine import Engine
from ..comfy.messages import NodeFailure
from ..comfy.outcome import INTERRUPTED, SUCCESS, Outcome, RunResult
from ..errors import ConnectError, ExecutionFailed, PromptInvalid, RunInterrupted, Unavailable
from ..workflow.endpoint import Endpoint, Prompt, title_of

# How often a waiting run checks that its prompt is still on ComfyUI's queue and the worker lives.
_POLL_SECONDS = 0.5
# What an error without ComfyUI's execution_error message (e.g. its worker reported no status) says.
_UNKNOWN_FAILURE = NodeFailure("", None, None, None)


class Executor:
    def __init__(self, comfy: Engine) -> None:
        self.comfy = comfy
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._loop = asyncio.get_event_loop() if comfy.loop is None else comfy.loop
        comfy.on_complete(self._completed)

    async def submit(self, endpoint: Endpoint, prompt: Prompt, prompt_id: str, extra: dict[str, Any] | None = None) -> None:
        """Validate and queue; `extra` goes into ComfyUI's extra_data (e.g. what outputs embed, io/embed.py)."""
        # As ComfyUI's own POST /prompt: on_prompt handlers, node replacements, then validation.
        admitted = await self.comfy.admit(prompt_id, prompt, f"{CLIENT_PREFIX}{prompt_id}", dict(extra or {}))
        checked = admitted.validation
        # ComfyUI runs the outputs that validate and drops the rest ("Output will be ignored"), which
        # would answer 200 with an empty list for a broken `#` output: any node error fails the call.
        if not checked.ok or checked.node_errors:
            raise validation_error(endpoint, admitted.prompt, checked.error, checked.node_errors)
        self._waiting[prompt_id] = self._loop.create_future()
        try:
            self.comfy.enqueue(prompt_id, admitted.prompt, checked.outputs, admitted.extra_data)
        except BaseException:
            self._waiting.pop(prompt_id, None)
            raise

    async def wait(self, prompt_id: str, expired: Callable[[], bool] = lambda: False) -> Outcome:
        """ComfyUI's outcome of a submitted prompt.

        Raises asyncio.TimeoutError once `expired()` says so (the prompt keeps going: the caller
        decides), RunInterrupted when the prompt left the queue unrun, Unavailable when the worker died.
        """
        future = self._waiting.get(prompt_id)
        if future is None:
            raise RuntimeError(f"prompt {prompt_id} was not submitted or was already collected")
        gone = 0
        while True:
            done, _ = await asyncio.wait({future}, timeout=_POLL_SECONDS)
            if done:
                self._waiting.pop(prompt_id, None)
                return future.result()
            if expired():
                raise asyncio.TimeoutError
            if not self.comfy.worker_alive():
                raise Unavailable(
                    "ComfyUI's prompt worker thread has stopped, so nothing can run; restart ComfyUI", {"prompt_id": prompt_id}
                )
            # Seen gone twice in a row: a prompt that just finished is resolved within one poll.
            gone = gone + 1 if self.comfy.prompt_state(prompt_id) == "gone" else 0
            if gone >= 2:
                raise RunInterrupted("the prompt was removed from ComfyUI's queue before it ran", {"prompt_id": prompt_id, "node_id": None})

    def abandon(self, prompt_id: str, error: ConnectError) -> None:
        """End the wait for a prompt that will never report back (e.g. it was taken off the queue)."""
        future = self._waiting.get(prompt_id)
        if future is not None and not future.done():
            future.set_exception(error)

    def forget(self, prompt_id: str) -> None:
        future = self._waiting.pop(prompt_id, None)
        if future is not None and future.done() and not future.cancelled():
            future.exception()  # retrieved: no "exception was never retrieved" warning

    def result(self, endpoint: Endpoint, prompt: Prompt, outcome: Outcome) -> RunResult:
        if outcome.status != SUCCESS:
            raise execution_error(endpoint, prompt, outcome)
        return outcome

    def _completed(self, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> None:
        # Runs on ComfyUI's worker thread.
        if prompt_id in self._waiting:
            self._loop.call_soon_threadsafe(self._resolve, prompt_id, status, history)

    def _resolve(self, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> None:
        future = self._waiting.get(prompt_id)
        if future is not None and not future.done():
            future.set_result(Outcome.decode(prompt_id, status, history))


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


def execution_error(endpoint: Endpoint, prompt: Prompt, outcome: Outcome) -> ConnectError:
    prompt_id = outcome.prompt_id
    if outcome.status == INTERRUPTED:
        return RunInterrupted("the run was interrupted before it finished", {"prompt_id": prompt_id, "node_id": outcome.interrupted_node})
    failure = outcome.failure or _UNKNOWN_FAILURE
    node_id = failure.node_id
    said = "unknown error" if failure.exception_message is None else str(failure.exception_message)
    return ExecutionFailed(
        f"{_node_label(prompt, node_id)} failed: {said.strip()}",
        {
            "prompt_id": prompt_id,
            "node_id": node_id,
            "title": endpoint.title(node_id),
            "class_type": failure.node_type,
            "exception_type": failure.exception_type,
            "exception_message": failure.exception_message,
        },
    )
