"""A prompt's end as ComfyUI reports it to a completion listener, decoded once (connect/comfy/outcome.py)."""

from __future__ import annotations

import json

from support import messages as m

from connect.comfy.messages import NodeFailure
from connect.comfy.outcome import ERROR, INTERRUPTED, SUCCESS, Outcome


def test_a_success_gives_its_outputs_times_and_cached_nodes() -> None:
    outcome = Outcome.decode(m.PROMPT, m.status("success", m.START, m.CACHED, m.SUCCESS), m.HISTORY)
    assert outcome.prompt_id == m.PROMPT
    assert outcome.status == SUCCESS
    assert outcome.outputs == {"9": m.SAVED_UI}
    assert (outcome.created, outcome.started, outcome.finished) == (1_764_547_198.5, 1_764_547_200.0, 1_764_547_202.5)
    assert outcome.cached == ("4", "6")
    assert outcome.failure is None and outcome.interrupted_node is None


def test_an_error_names_the_node_and_what_it_raised() -> None:
    outcome = Outcome.decode(m.PROMPT, m.status("error", m.START, m.CACHED, m.ERROR), {"outputs": {}, "meta": {}})
    assert outcome.status == ERROR
    assert outcome.failure == NodeFailure("3", "KSampler", "RuntimeError", "Expected size 4 but got 8\n")
    assert outcome.finished == 1_764_547_200.9
    assert outcome.outputs == {}


def test_an_interrupt_is_told_apart_from_an_error() -> None:
    # ComfyUI's status_str is "error" for both; its execution_interrupted message tells them apart.
    outcome = Outcome.decode(m.PROMPT, m.status("error", m.START, m.INTERRUPTED), {"outputs": {}, "meta": {}})
    assert outcome.status == INTERRUPTED
    assert outcome.interrupted_node == "3"
    assert outcome.failure is None


def test_a_status_read_back_from_comfyuis_history_decodes_the_same() -> None:
    status = m.status("success", m.START, m.CACHED, m.SUCCESS)
    stored = json.loads(json.dumps(status))  # /history's form: the (event, data) tuples are lists
    assert Outcome.decode(m.PROMPT, stored, m.HISTORY) == Outcome.decode(m.PROMPT, status, m.HISTORY)


def test_a_prompt_without_messages_or_times_is_an_error_with_no_node() -> None:
    # The adapter's stand-in when ComfyUI's worker reported no status at all.
    status = {"status_str": "error", "completed": False, "messages": [], "create_time": None}
    outcome = Outcome.decode("p", status, {})
    assert (outcome.status, outcome.failure, outcome.started, outcome.created, outcome.outputs) == (ERROR, None, None, None, {})
