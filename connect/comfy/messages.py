"""ComfyUI's messages about a prompt, decoded into typed events: the one place that knows their names and shapes.

ComfyUI sends them over its websocket as (event name, data dict), and keeps the execution_* ones in
the prompt's status (status["messages"], a list of (event, data) pairs). Shapes, from ComfyUI
0.3.75's and 0.33.0's execution.py and main.py (identical in both)::

    status                 {"status": {"exec_info": {"queue_remaining": 1}}, "sid"?}      -> QueueChanged
    execution_start        {"prompt_id", "timestamp"}                                    -> Started
    execution_cached       {"nodes": [...], "prompt_id", "timestamp"}                   -> Cached
    executing              {"node", "display_node", "prompt_id"}   ("node": None at the end: not decoded)
    progress               {"value", "max", "prompt_id", "node"}                         -> Progress
    executed               {"node", "display_node", "output", "prompt_id"}               -> Executed
    execution_success      {"prompt_id", "timestamp"}                                    -> Succeeded
    execution_error        {"prompt_id", "node_id", "node_type", "executed", "exception_message",
                            "exception_type", "traceback", "current_inputs", "current_outputs", "timestamp"}
                                                                                         -> Failed
    execution_interrupted  {"prompt_id", "node_id", "node_type", "executed", "timestamp"} -> Interrupted

Anything else (progress_state, binary previews, other plugins' events) decodes to None. Decoding is a
few dictionary reads: listeners call it on whatever thread ComfyUI calls them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueueChanged:
    """ComfyUI's queue changed (a prompt was queued, started, finished or removed), from any client."""


@dataclass(frozen=True)
class Started:
    prompt_id: str
    at: float | None  # epoch seconds


@dataclass(frozen=True)
class Cached:
    prompt_id: str
    nodes: tuple[str, ...]  # nodes whose earlier results ComfyUI reuses


@dataclass(frozen=True)
class Executing:
    prompt_id: str
    node: str


@dataclass(frozen=True)
class Progress:
    prompt_id: str
    node: str
    value: Any
    max: Any


@dataclass(frozen=True)
class Executed:
    prompt_id: str
    node: str
    output: Any  # the node's UI output ({"images": [...], ...}), None when it has none


@dataclass(frozen=True)
class Succeeded:
    prompt_id: str
    at: float | None


@dataclass(frozen=True)
class NodeFailure:
    """What ComfyUI says about the node that raised (its execution_error message)."""

    node_id: str
    node_type: Any
    exception_type: Any
    exception_message: Any


@dataclass(frozen=True)
class Failed:
    prompt_id: str
    at: float | None
    failure: NodeFailure


@dataclass(frozen=True)
class Interrupted:
    prompt_id: str
    at: float | None
    node_id: Any  # the node that was running, as ComfyUI reports it (None when it does not)


PromptMessage = Started | Cached | Executing | Progress | Executed | Succeeded | Failed | Interrupted
Message = QueueChanged | PromptMessage


def decode(event: Any, data: Any) -> Message | None:
    """One message ComfyUI sent (or kept in a prompt's status), or None when it is none of the above."""
    if not isinstance(data, dict):
        return None
    if event == "status":
        return QueueChanged()
    prompt_id = str(data.get("prompt_id"))
    if event == "execution_start":
        return Started(prompt_id, _seconds(data))
    if event == "execution_cached":
        return Cached(prompt_id, tuple(str(node) for node in data.get("nodes") or []))
    if event == "executing":
        # {"node": None} is ComfyUI telling its UI the prompt is over; execution_success says it first.
        return None if data.get("node") is None else Executing(prompt_id, str(data["node"]))
    if event == "progress":
        return Progress(prompt_id, str(data.get("node")), data.get("value"), data.get("max"))
    if event == "executed":
        return Executed(prompt_id, str(data.get("node")), data.get("output"))
    if event == "execution_success":
        return Succeeded(prompt_id, _seconds(data))
    if event == "execution_error":
        node_id = str(data.get("node_id", ""))
        failure = NodeFailure(node_id, data.get("node_type"), data.get("exception_type"), data.get("exception_message"))
        return Failed(prompt_id, _seconds(data), failure)
    if event == "execution_interrupted":
        return Interrupted(prompt_id, _seconds(data), data.get("node_id"))
    return None


def decode_pair(message: Any) -> Message | None:
    """One entry of a prompt's status["messages"]: an (event, data) tuple, or a list once stored as JSON."""
    if isinstance(message, (list, tuple)) and len(message) == 2:
        return decode(message[0], message[1])
    return None


def _seconds(data: dict[str, Any]) -> float | None:
    stamp = data.get("timestamp")  # milliseconds since the epoch
    return float(stamp) / 1000 if isinstance(stamp, (int, float)) else None
