"""`!cache`: keep chosen nodes' results alive while other workflows run.

ComfyUI drops every cached result whose node is not part of the prompt being run. So each run is
sent with a copy of every `!cache` node of every saved workflow (and the nodes it depends on),
under ids of their own and wired to no output: they never execute, but their cache keys stay in
use, and a model loaded by workflow A survives a run of workflow B.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from ..comfy.nodespec import NodeSpec, SpecLookup
from .endpoint import Prompt, is_link
from .store import SavedWorkflow

PREFIX = "connect-cache"


def ancestors(prompt: Prompt, node_ids: Iterable[str]) -> list[str]:
    """The given nodes and everything they depend on, in a stable order."""
    seen: dict[str, None] = {}
    stack = list(node_ids)
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in prompt:
            continue
        seen[node_id] = None
        stack.extend(str(v[0]) for v in prompt[node_id].get("inputs", {}).values() if is_link(v))
    return sorted(seen)


def keepalive_nodes(workflows: Iterable[SavedWorkflow], specs: SpecLookup) -> Prompt:
    kept: Prompt = {}
    for index, saved in enumerate(sorted(workflows, key=lambda w: w.name)):
        prompt = saved.endpoint.prompt
        roots = [n for n in saved.endpoint.cached if _keepable(specs(prompt[n]["class_type"]))]
        wanted = ancestors(prompt, roots)
        if not wanted or not all(_keepable(specs(prompt[n]["class_type"])) for n in wanted):
            continue
        rename = {node_id: f"{PREFIX}-{index}-{node_id}" for node_id in wanted}
        for node_id in wanted:
            node = copy.deepcopy(prompt[node_id])
            node["inputs"] = {k: [rename[str(v[0])], v[1]] if is_link(v) else v for k, v in node.get("inputs", {}).items()}
            kept[rename[node_id]] = node
    return kept


def _keepable(spec: NodeSpec | None) -> bool:
    # ComfyUI runs every output node of a prompt: a kept copy of one (`#out !cache`, a mistake) would
    # run with every call of every workflow, with all its ancestors.
    return spec is not None and not spec.output_node
