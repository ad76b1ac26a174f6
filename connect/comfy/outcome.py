"""What ComfyUI reports when a prompt ends, as one typed value.

A completion listener (Engine.on_complete) gets ComfyUI's own structures: the status
{"status_str": "success" | "error", "completed", "messages": [(event, data), ...], "create_time"}
(create_time: added by the engine, milliseconds) and the history entry {"outputs": {node id: UI
output}, "meta"}. ``Outcome.decode`` reads them once, through the same message decoder as the live
messages (messages.py); nothing else in the plugin looks inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .messages import Cached, Failed, Interrupted, NodeFailure, Started, Succeeded, decode_pair

SUCCESS, ERROR, INTERRUPTED = "success", "error", "interrupted"


@dataclass(frozen=True)
class Outcome:
    prompt_id: str
    outputs: dict[str, Any]  # node id -> UI output
    status: str = SUCCESS  # SUCCESS, ERROR or INTERRUPTED
    started: float | None = None  # epoch seconds: ComfyUI's execution_start
    finished: float | None = None  # its execution_success, _error or _interrupted
    created: float | None = None  # when the prompt was queued
    cached: tuple[str, ...] = ()
    failure: NodeFailure | None = None  # an ERROR's node, when ComfyUI named one
    interrupted_node: Any = None  # the node an INTERRUPTED prompt was running

    @classmethod
    def decode(cls, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> Outcome:
        started = finished = None
        cached: tuple[str, ...] = ()
        failure: NodeFailure | None = None
        interrupted, interrupted_node = False, None
        for raw in status.get("messages") or []:
            message = decode_pair(raw)
            if isinstance(message, Started):
                started = message.at
            elif isinstance(message, Cached):
                cached = message.nodes
            elif isinstance(message, Succeeded):
                finished = message.at
            elif isinstance(message, Failed):
                finished, failure = message.at, message.failure
            elif isinstance(message, Interrupted):
                finished, interrupted, interrupted_node = message.at, True, message.node_id
        # ComfyUI's status_str says success or error; an interrupt is an error it tells apart by its message.
        state = INTERRUPTED if interrupted else str(status.get("status_str") or ERROR)
        created = status.get("create_time")
        return cls(
            prompt_id,
            dict((history if isinstance(history, dict) else {}).get("outputs") or {}),
            state,
            started,
            finished,
            float(created) / 1000 if isinstance(created, (int, float)) else None,
            cached,
            failure,
            interrupted_node,
        )


# What a successful run hands to delivery and keeps on its job.
RunResult = Outcome
