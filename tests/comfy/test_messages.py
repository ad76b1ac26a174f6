"""ComfyUI's websocket messages decoded into typed events (connect/comfy/messages.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import messages as m

from connect.comfy.messages import (
    Cached,
    Executed,
    Executing,
    Failed,
    Interrupted,
    NodeFailure,
    Progress,
    QueueChanged,
    Started,
    Succeeded,
    decode,
    decode_pair,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (m.QUEUE, QueueChanged()),
        (m.START, Started(m.PROMPT, 1_764_547_200.0)),
        (m.CACHED, Cached(m.PROMPT, ("4", "6"))),
        (m.EXECUTING, Executing(m.PROMPT, "3")),
        (m.PROGRESS, Progress(m.PROMPT, "3", 1, 20)),
        (m.EXECUTED, Executed(m.PROMPT, "9", m.SAVED_UI)),
        (m.SUCCESS, Succeeded(m.PROMPT, 1_764_547_202.5)),
        (m.ERROR, Failed(m.PROMPT, 1_764_547_200.9, NodeFailure("3", "KSampler", "RuntimeError", "Expected size 4 but got 8\n"))),
        (m.INTERRUPTED, Interrupted(m.PROMPT, 1_764_547_200.7, "3")),
    ],
)
def test_each_message_comfyui_sends_about_a_prompt_decodes_to_its_event(message: tuple[str, dict[str, Any]], expected: Any) -> None:
    assert decode(*message) == expected


@pytest.mark.parametrize(
    ("event", "data"),
    [
        m.END,  # the end of a prompt for ComfyUI's UI: execution_success has said it
        m.PROGRESS_STATE,  # every node's progress at once: the plugin follows "progress"
        (1, b"\x00\x00\x00\x01png"),  # a binary preview
        ("crystools.monitor", {"cpu_utilization": 3.1}),  # another plugin's event
        ("executing", "3"),  # not a dict
    ],
)
def test_what_the_plugin_does_not_follow_decodes_to_none(event: Any, data: Any) -> None:
    assert decode(event, data) is None


def test_a_run_decodes_in_order_to_the_events_the_plugin_follows() -> None:
    decoded = [decode(*message) for message in m.RUN]
    kinds = [type(event).__name__ for event in decoded if event is not None]
    assert kinds == ["QueueChanged", "Started", "Cached", "Executing", "Progress", "Executed", "Succeeded", "QueueChanged"]


def test_node_ids_are_strings_and_missing_fields_are_none() -> None:
    # ComfyUI's node ids are strings; a number from another sender is read as the same id.
    assert decode("execution_cached", {"nodes": [4, "connect-cache-0-4"], "prompt_id": "p"}) == Cached("p", ("4", "connect-cache-0-4"))
    assert decode("executing", {"node": 7, "prompt_id": "p"}) == Executing("p", "7")
    assert decode("execution_start", {"prompt_id": "p"}) == Started("p", None)
    assert decode("execution_error", {"prompt_id": "p"}) == Failed("p", None, NodeFailure("", None, None, None))
    assert decode("execution_interrupted", {"prompt_id": "p"}) == Interrupted("p", None, None)


def test_status_messages_decode_as_tuples_and_as_the_lists_json_makes_of_them() -> None:
    # main.py keeps (event, data) tuples; /history (and any copy through JSON) gives lists.
    assert decode_pair(m.START) == decode_pair(json.loads(json.dumps(m.START))) == Started(m.PROMPT, 1_764_547_200.0)
    assert decode_pair(("execution_start",)) is None
    assert decode_pair("execution_start") is None
