"""The UI format (what ComfyUI's Ctrl+S writes) read into typed graphs.

A file is a root graph (`nodes`, `links`) plus subgraph definitions (`definitions.subgraphs`), each
a graph of its own whose links may start at its input node (id -10) or end at its output node
(id -20). Links come in two shapes: arrays `[id, origin, origin_slot, target, target_slot, type]`
(the root graph of every saved file) and objects (subgraphs, newer files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConvertError

SUBGRAPH_INPUT = "-10"
SUBGRAPH_OUTPUT = "-20"


@dataclass
class Link:
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int


@dataclass
class Slot:
    name: str
    type: str
    link: int | None = None
    widget: str | None = None  # the widget this input stands for, when it is one


@dataclass
class Node:
    id: str
    type: str
    title: str | None
    mode: int
    inputs: list[Slot]
    outputs: list[Slot]
    output_links: list[list[int]]
    values: list[Any] | dict[str, Any]
    properties: dict[str, Any]


@dataclass
class Graph:
    nodes: dict[str, Node]
    links: dict[int, Link]
    # Subgraph definitions only: the names, types and inner links of their inputs and outputs.
    inputs: list[Slot] = field(default_factory=list)
    input_links: list[list[int]] = field(default_factory=list)
    outputs: list[Slot] = field(default_factory=list)
    output_links: list[list[int]] = field(default_factory=list)


@dataclass
class Workflow:
    root: Graph
    subgraphs: dict[str, Graph]


def read_workflow(data: Any, *, unique_ids: bool) -> Workflow:
    """`unique_ids`: renumber subgraph nodes whose ids another graph uses, as newer frontends do on load."""
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise ConvertError("a UI-format workflow is an object with a 'nodes' list", {"path": "nodes"})
    root = _graph(data, "")
    subgraphs: dict[str, Graph] = {}
    for where, raw in _definitions(data, "definitions.subgraphs"):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise ConvertError("a subgraph definition without an 'id'", {"path": where})
        if raw["id"] not in subgraphs:  # the first of two definitions with one id wins
            subgraphs[raw["id"]] = _graph(raw, where)
    if unique_ids:
        _renumber(root, list(subgraphs.values()), _last_node_id(data))
    return Workflow(root, subgraphs)


def _definitions(raw: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    """Subgraph definitions, those nested in definitions too (each after the one that holds it)."""
    definitions = raw.get("definitions")
    found: list[tuple[str, Any]] = []
    if isinstance(definitions, dict) and isinstance(definitions.get("subgraphs"), list):
        for index, item in enumerate(definitions["subgraphs"]):
            found.append((f"{where}.{index}", item))
            if isinstance(item, dict):
                found.extend(_definitions(item, f"{where}.{index}.definitions.subgraphs"))
    return found


def _last_node_id(data: dict[str, Any]) -> int:
    state = data.get("state")
    last = state.get("lastNodeId") if isinstance(state, dict) else data.get("last_node_id")
    return last if isinstance(last, int) and last >= 0 else 0


def _renumber(root: Graph, subgraphs: list[Graph], last: int) -> None:
    """Gives each subgraph node whose id is taken (by the root graph or an earlier subgraph) the next free id."""
    used = set(root.nodes)
    numbers = {int(i) for i in used if i.isdigit()}
    last = max([last, *numbers])
    for graph in subgraphs:
        renamed: dict[str, str] = {}
        for node in list(graph.nodes.values()):
            if node.id in used:
                last += 1
                while last in numbers:
                    last += 1
                renamed[node.id] = str(last)
                numbers.add(last)
                used.add(str(last))
            else:
                used.add(node.id)
                if node.id.isdigit():
                    numbers.add(int(node.id))
                    last = max(last, int(node.id))
        if renamed:
            graph.nodes = {renamed.get(i, i): n for i, n in graph.nodes.items()}
            for new in renamed.values():
                graph.nodes[new].id = new
            for link in graph.links.values():
                link.origin_id = renamed.get(link.origin_id, link.origin_id)
                link.target_id = renamed.get(link.target_id, link.target_id)


def _graph(raw: dict[str, Any], where: str) -> Graph:
    prefix = f"{where}." if where else ""
    nodes: dict[str, Node] = {}
    for index, item in enumerate(raw.get("nodes") or []):
        node = _node(item, f"{prefix}nodes.{index}")
        nodes[node.id] = node
    links: dict[int, Link] = {}
    if not isinstance(raw.get("links", []), list):
        raise ConvertError("'links' is a list of links", {"path": f"{prefix}links"})
    for index, item in enumerate(raw.get("links") or []):
        link_id, link = _link(item, f"{prefix}links.{index}")
        links[link_id] = link
    graph = Graph(nodes, links)
    for key, slots, slot_links in (("inputs", graph.inputs, graph.input_links), ("outputs", graph.outputs, graph.output_links)):
        for item in raw.get(key) or [] if where else []:
            if isinstance(item, dict):
                slots.append(Slot(str(item.get("name", "")), _type(item.get("type"))))
                slot_links.append([int(i) for i in item.get("linkIds") or [] if isinstance(i, int)])
    return graph


def _node(item: Any, where: str) -> Node:
    if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("type"), str):
        raise ConvertError("a node needs an 'id' and a 'type'", {"path": where})
    inputs = [_slot(s) for s in item.get("inputs") or [] if isinstance(s, dict)]
    outputs = [_slot(s) for s in item.get("outputs") or [] if isinstance(s, dict)]
    output_links = [[int(i) for i in s.get("links") or [] if isinstance(i, int)] for s in item.get("outputs") or [] if isinstance(s, dict)]
    values = item.get("widgets_values")
    title, mode = item.get("title"), item.get("mode")
    return Node(
        id=str(item["id"]),
        type=item["type"],
        title=title if isinstance(title, str) else None,
        mode=mode if isinstance(mode, int) else 0,
        inputs=inputs,
        outputs=outputs,
        output_links=output_links,
        values=values if isinstance(values, (list, dict)) else [],
        properties=item["properties"] if isinstance(item.get("properties"), dict) else {},
    )


def _slot(raw: dict[str, Any]) -> Slot:
    widget = raw.get("widget")
    link = raw.get("link")
    return Slot(
        name=str(raw.get("name", "")),
        type=_type(raw.get("type")),
        link=link if isinstance(link, int) else None,
        widget=str(widget["name"]) if isinstance(widget, dict) and "name" in widget else None,
    )


def _type(raw: Any) -> str:
    if isinstance(raw, list):  # a combo's type is its list of options
        return "COMBO"
    return "*" if raw in (None, 0) else str(raw)


def _link(item: Any, where: str) -> tuple[int, Link]:
    try:
        if isinstance(item, list):
            link_id, origin, origin_slot, target, target_slot = item[:5]
        elif isinstance(item, dict):
            link_id, origin, origin_slot = item["id"], item["origin_id"], item["origin_slot"]
            target, target_slot = item["target_id"], item["target_slot"]
        else:
            raise TypeError(item)
        return int(link_id), Link(str(origin), int(origin_slot), str(target), int(target_slot))
    except (KeyError, ValueError, TypeError):
        shape = "[id, origin, origin_slot, target, target_slot, type] or an object with those"
        raise ConvertError(f"a link is {shape}", {"path": where}) from None
