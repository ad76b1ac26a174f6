"""UI format -> API format, as the frontend's `app.graphToPrompt()` does it, on the server.

The frontend flattens the graph into executable nodes, one per real node, subgraph instances
expanded (an inner node's id is the path of instance ids, then its own: "12:5"). Each node sends its
widget values by input name, then its links, each resolved back through what does not run: links
pass through Reroutes and out of or into subgraphs, around bypassed (mode 4) nodes to their first
input of a matching type; muted (mode 2) nodes are left out, and so are the inputs linked to them.
Frontend-only nodes (notes, PrimitiveNode, Reroute) are not sent; a PrimitiveNode's value is
written into the widgets it feeds first. Node definitions come from ComfyUI (`InfoLookup`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConvertError
from .meta import COMFY_TITLES_SINCE, SKIP_MUTED_INSTANCES_SINCE, UNIQUE_IDS_SINCE, Version, curves_marked, node_meta
from .uigraph import SUBGRAPH_INPUT, SUBGRAPH_OUTPUT, Graph, Node, Workflow, read_workflow
from .widgets import InfoLookup, widget_values

Prompt = dict[str, dict[str, Any]]
NEVER, BYPASS = 2, 4
# Nodes that live only in the page: they pass links on (Reroute), set widgets (PrimitiveNode) or annotate.
PAGE_ONLY = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote"}


@dataclass
class Executable:
    """One node of the flattened graph (the frontend's ExecutableNodeDTO)."""

    id: str
    node: Node
    graph: Graph
    path: tuple[str, ...]  # ids of the subgraph instances that contain it, outermost first
    instance: Executable | None  # the subgraph node it is inside, if any
    subgraph: Graph | None  # when this node is a subgraph instance: its definition


@dataclass(frozen=True)
class Source:
    """Where an input's value comes from: a node's output, or a subgraph instance's widget value."""

    node_id: str
    slot: int
    value: Any = None
    is_value: bool = False


def convert(data: Any, lookup: InfoLookup, frontend: Version, display_names: Mapping[str, str] | None = None) -> Prompt:
    """The prompt frontend `frontend` sends for this file; `lookup` gives ComfyUI's definition of a class.

    `display_names`: the frontend's own (English) names of node classes, the title of a node saved
    without one; ComfyUI's display name when the frontend has none.
    """
    workflow = read_workflow(data, unique_ids=frontend >= UNIQUE_IDS_SINCE)
    return _Converter(workflow, lookup, frontend, display_names or {}).prompt()


class _Converter:
    def __init__(self, workflow: Workflow, lookup: InfoLookup, frontend: Version, display_names: Mapping[str, str]) -> None:
        self.workflow = workflow
        self.lookup = lookup
        self.frontend = frontend
        self.display_names = display_names
        self.nodes: dict[str, Executable] = {}
        self.overrides: dict[int, dict[str, Any]] = {}  # id(Node) -> widget values a PrimitiveNode set
        self._flatten(workflow.root, (), None, set())
        for item in list(self.nodes.values()):
            if item.node.type == "PrimitiveNode":
                self._apply_primitive(item)

    # -- flattening --------------------------------------------------------------------------------
    def _flatten(self, graph: Graph, path: tuple[str, ...], instance: Executable | None, seen: set[str]) -> None:
        for node in graph.nodes.values():
            subgraph = self.workflow.subgraphs.get(node.type)
            item = Executable(":".join((*path, node.id)), node, graph, path, instance, subgraph)
            self.nodes[item.id] = item
            # Newer frontends do not expand a muted or bypassed subgraph node of the root graph.
            skipped = not path and node.mode in (NEVER, BYPASS) and self.frontend >= SKIP_MUTED_INSTANCES_SINCE
            if subgraph is not None and not skipped:
                if node.type in seen:
                    raise _error(item, "its subgraph contains itself")
                self._flatten(subgraph, (*path, node.id), item, seen | {node.type})

    def _apply_primitive(self, item: Executable) -> None:
        """A PrimitiveNode writes its value into every widget its output feeds."""
        if not item.node.values or not item.node.output_links:
            return
        value = item.node.values[0] if isinstance(item.node.values, list) else None
        for link_id in item.node.output_links[0]:
            link = item.graph.links.get(link_id)
            target = item.graph.nodes.get(link.target_id) if link else None
            if link is None or target is None or link.target_slot >= len(target.inputs):
                continue
            slot = target.inputs[link.target_slot]
            self.overrides.setdefault(id(target), {})[slot.widget or slot.name] = value

    # -- output ------------------------------------------------------------------------------------
    def prompt(self) -> Prompt:
        prompt: Prompt = {}
        for item in self.nodes.values():
            if self._virtual(item) or item.node.mode in (NEVER, BYPASS):
                continue
            info = self.lookup(item.node.type)
            if info is None:
                raise _error(item, f"no node class {item.node.type!r} is installed in ComfyUI")
            inputs = widget_values(info, item.node.type, item.node.values, curves_marked(self.frontend))
            for name, value in self.overrides.get(id(item.node), {}).items():
                if name in inputs:
                    inputs[name] = {"__value__": value} if isinstance(value, list) else value
            for index, slot in enumerate(item.node.inputs):
                source = self._resolve_input(item, index, set())
                if source is None:
                    continue
                if source.is_value:
                    inputs[slot.name] = {"__value__": source.value} if isinstance(source.value, list) else source.value
                else:
                    inputs[slot.name] = [source.node_id, source.slot]
            title = item.node.title if item.node.title is not None else self._default_title(item.node.type, info)
            meta = node_meta(title, item.node.properties, self.frontend)
            prompt[item.id] = {"inputs": inputs, "class_type": item.node.type, "_meta": meta}
        for node in prompt.values():  # links to nodes that are not sent are dropped, as the frontend does
            for name, value in list(node["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and value[0] not in prompt:
                    del node["inputs"][name]
        return prompt

    def _default_title(self, class_type: str, info: dict[str, Any]) -> str:
        """What the frontend titles a node saved without a title: its name for the class, or ComfyUI's."""
        own, comfy = self.display_names.get(class_type), info.get("display_name")
        first, second = (comfy, own) if self.frontend >= COMFY_TITLES_SINCE else (own, comfy)
        return str(first or second or class_type)

    def _virtual(self, item: Executable) -> bool:
        return item.subgraph is not None or item.node.type in PAGE_ONLY

    # -- resolving links ---------------------------------------------------------------------------
    def _resolve_input(self, item: Executable, index: int, visited: set[str], wanted: str | None = None) -> Source | None:
        key = f"{item.id}[I]{index}"
        if key in visited:
            raise _error(item, f"its input {index} is part of a loop of links")
        visited.add(key)
        if index >= len(item.node.inputs):
            return None
        slot = item.node.inputs[index]
        if slot.link is None:
            return None
        link = item.graph.links.get(slot.link)
        if link is None:
            raise _error(item, f"its input {slot.name!r} names link {slot.link}, which the graph does not have")
        if link.origin_id == SUBGRAPH_INPUT and item.instance is not None:
            return self._resolve_from_instance(item.instance, link.origin_slot, visited)
        origin = item.graph.nodes.get(link.origin_id)
        if origin is None:
            raise _error(item, f"its input {slot.name!r} is linked to node {link.origin_id}, which the graph does not have")
        origin_item = self.nodes[":".join((*item.path, origin.id))]
        return self._resolve_output(origin_item, link.origin_slot, wanted or slot.type, visited)

    def _resolve_from_instance(self, instance: Executable, index: int, visited: set[str]) -> Source | None:
        """An inner link from the subgraph's input node: what feeds the instance's input of that index."""
        assert instance.subgraph is not None
        if index >= len(instance.subgraph.inputs):
            raise _error(instance, f"a link inside its subgraph starts at input {index}, which the subgraph does not have")
        name = instance.subgraph.inputs[index].name
        outer = next((i for i, s in enumerate(instance.node.inputs) if s.name == name), None)
        if outer is not None and instance.node.inputs[outer].link is not None:
            return self._resolve_input(instance, outer, visited)
        promoted = self._promoted_values(instance)
        if name in promoted:
            return Source(instance.id, -1, promoted[name], is_value=True)
        return None

    def _promoted_values(self, instance: Executable) -> dict[str, Any]:
        """The instance's own widgets: one per subgraph input that feeds an inner widget, in input order.

        Their values are the instance's saved ones; where it saved none (newer files keep promoted
        values in the inner nodes), the value of the inner widget the input feeds.
        """
        subgraph = instance.subgraph
        assert subgraph is not None
        fed = {s.name: target for i, s in enumerate(subgraph.inputs) if (target := self._widget_fed(subgraph, i)) is not None}
        saved = instance.node.values
        if isinstance(saved, dict):
            values = {n: saved[n] for n in fed if n in saved}
        else:
            values = {n: saved[i] for i, n in enumerate(fed) if i < len(saved)}
        for name, (node, widget) in fed.items():
            info = None if name in values else self.lookup(node.type)
            if info is not None:
                inner = widget_values(info, node.type, node.values, curves_marked(self.frontend), as_sent=False)
                if widget in inner:
                    values[name] = inner[widget]
        return values

    def _widget_fed(self, subgraph: Graph, index: int) -> tuple[Node, str] | None:
        """The inner node and widget a subgraph input feeds first, if its first live link goes to a widget."""
        for link_id in subgraph.input_links[index]:  # stale ids (links since removed) are skipped
            link = subgraph.links.get(link_id)
            target = subgraph.nodes.get(link.target_id) if link else None
            if link is not None and target is not None and link.target_slot < len(target.inputs):
                widget = target.inputs[link.target_slot].widget
                return None if widget is None else (target, widget)
        return None

    def _resolve_output(self, item: Executable, slot: int, wanted: str, visited: set[str]) -> Source | None:
        key = f"{item.id}[O]{slot}"
        if key in visited:
            raise _error(item, f"its output {slot} is part of a loop of links")
        visited.add(key)
        if item.node.mode == BYPASS:
            match = _bypass_slot(item.node, slot, wanted)
            return None if match < 0 else self._resolve_input(item, match, visited)
        if item.subgraph is not None and item.node.mode != NEVER:  # a muted one is not sent: links to it are dropped
            return self._resolve_subgraph_output(item, slot, wanted, visited)
        if item.node.type in PAGE_ONLY:
            if slot < len(item.node.inputs):
                return self._resolve_input(item, slot, visited, wanted)
            return None
        return Source(item.id, slot)

    def _resolve_subgraph_output(self, item: Executable, slot: int, wanted: str, visited: set[str]) -> Source | None:
        assert item.subgraph is not None
        if slot >= len(item.subgraph.outputs):
            raise _error(item, f"a link starts at its output {slot}, which its subgraph does not have")
        for link_id in item.subgraph.output_links[slot][:1]:
            link = item.subgraph.links.get(link_id)
            if link is None or link.target_id != SUBGRAPH_OUTPUT:
                continue
            inner = self.nodes.get(":".join((*item.path, item.node.id, link.origin_id)))
            if inner is None:
                raise _error(item, f"its subgraph's output {slot} comes from node {link.origin_id}, which the subgraph does not have")
            return self._resolve_output(inner, link.origin_slot, wanted, visited)
        return None


def _bypass_slot(node: Node, slot: int, wanted: str) -> int:
    """The input a bypassed node passes to its output `slot`: same index if the types fit, else by type."""
    inputs = node.inputs
    if wanted in ("*", ""):
        return slot if len(inputs) > slot else 0
    output_type = node.outputs[slot].type if slot < len(node.outputs) else "*"
    if slot < len(inputs) and _connects(inputs[slot].type, output_type) and _connects(inputs[slot].type, wanted):
        return slot
    exact = next((i for i, s in enumerate(inputs) if s.type == wanted), -1)
    if exact >= 0:
        return exact
    return next((i for i, s in enumerate(inputs) if _connects(s.type, output_type) and _connects(s.type, wanted)), -1)


def _connects(a: str, b: str) -> bool:
    """LiteGraph's type check: equal, a wildcard, or comma-separated lists that share a type."""
    if a in ("", "*") or b in ("", "*") or a == b:
        return True
    left, right = set(a.lower().split(",")), set(b.lower().split(","))
    return bool(left & right)


def _error(item: Executable, why: str) -> ConvertError:
    title = item.node.title or item.node.type
    return ConvertError(f"node {item.id} ({title}) cannot be converted: {why}", {"node": item.id, "title": title, "reason": why})
