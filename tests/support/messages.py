"""ComfyUI's messages about one prompt, as ComfyUI 0.3.75 and 0.33.0 build them (execution.py, main.py,
server.py), for tests without ComfyUI.

The two versions send the same shapes. ``RUN`` is what the websocket carries for a two-node run
(a sampler with steps, then SaveImage); ``status(...)`` is what a completion listener gets.
"""

from __future__ import annotations

from typing import Any

PROMPT = "0f9f3a4e-5b7c-4d2a-9e61-2c8d7b1a4f10"
T0 = 1_764_547_200_000  # milliseconds, as ComfyUI's int(time.time() * 1000)

QUEUE = ("status", {"status": {"exec_info": {"queue_remaining": 1}}})
START = ("execution_start", {"prompt_id": PROMPT, "timestamp": T0})
CACHED = ("execution_cached", {"nodes": ["4", "6"], "prompt_id": PROMPT, "timestamp": T0 + 3})
EXECUTING = ("executing", {"node": "3", "display_node": "3", "prompt_id": PROMPT})
PROGRESS_STATE = (
    "progress_state",
    {"prompt_id": PROMPT, "nodes": {"3": {"value": 1, "max": 20, "state": "running", "node_id": "3", "prompt_id": PROMPT}}},
)
PROGRESS = ("progress", {"value": 1, "max": 20, "prompt_id": PROMPT, "node": "3"})
SAVED_UI = {"images": [{"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"}]}
EXECUTED = ("executed", {"node": "9", "display_node": "9", "output": SAVED_UI, "prompt_id": PROMPT})
SUCCESS = ("execution_success", {"prompt_id": PROMPT, "timestamp": T0 + 2500})
END = ("executing", {"node": None, "prompt_id": PROMPT})  # main.py, after task_done
ERROR = (
    "execution_error",
    {
        "prompt_id": PROMPT,
        "node_id": "3",
        "node_type": "KSampler",
        "executed": ["4", "6"],
        "exception_message": "Expected size 4 but got 8\n",
        "exception_type": "RuntimeError",
        "traceback": ['  File "execution.py", line 496, in execute\n'],
        "current_inputs": {"steps": [20]},
        "current_outputs": ["4", "6"],
        "timestamp": T0 + 900,
    },
)
INTERRUPTED = (
    "execution_interrupted",
    {"prompt_id": PROMPT, "node_id": "3", "node_type": "KSampler", "executed": ["4"], "timestamp": T0 + 700},
)

RUN = [QUEUE, START, CACHED, EXECUTING, PROGRESS_STATE, PROGRESS, EXECUTED, SUCCESS, END, QUEUE]


def status(status_str: str, *messages: tuple[str, dict[str, Any]], create_time: int | None = T0 - 1500) -> dict[str, Any]:
    """A completion listener's status: main.py's ExecutionStatus as a dict, plus the engine's create_time."""
    return {"status_str": status_str, "completed": status_str == "success", "messages": list(messages), "create_time": create_time}


HISTORY = {"outputs": {"9": SAVED_UI}, "meta": {"9": {"node_id": "9", "display_node": "9", "parent_node": None, "real_node_id": "9"}}}
