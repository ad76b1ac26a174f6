"""workflow/dynprompt.py: a text widget's dynamic prompt, resolved as the frontend sends it."""

from __future__ import annotations

import random

from connect.workflow.dynprompt import expand
from connect.workflow.widgets import widget_values


def test_comments_go_and_escaped_braces_stay() -> None:
    assert expand("a cat // not this\n/* nor\nthis */on a mat \\{x\\|y\\}") == "a cat \non a mat {x|y}"


def test_each_choice_block_becomes_one_of_its_choices_nested_too() -> None:
    seen = {expand("a {red|{dark|light} blue} car", random.Random(seed)) for seed in range(60)}
    assert seen == {"a red car", "a dark blue car", "a light blue car"}
    assert expand('{"key": "value"}') == '"key": "value"'  # one choice: the braces go, as in the page


def test_only_texts_whose_definition_allows_dynamic_prompts_are_resolved() -> None:
    definition = {"input": {"required": {"text": ["STRING", {"dynamicPrompts": True}], "plain": ["STRING", {}]}}}
    assert widget_values(definition, "X", ["x // y", "x // y"]) == {"text": "x ", "plain": "x // y"}
    assert widget_values(definition, "X", ["x // y", "x // y"], as_sent=False) == {"text": "x // y", "plain": "x // y"}
