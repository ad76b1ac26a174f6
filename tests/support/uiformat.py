"""Small UI-format (Ctrl+S) workflows for tests, built the way the frontend saves them.

    ui = UIGraph()
    canvas = ui.node(1, "EmptyImage", [16, 16, 1, 0xFF0000], outputs=["IMAGE"])
    invert = ui.node(2, "ImageInvert", inputs=[("image", "IMAGE")], outputs=["IMAGE"])
    ui.link(canvas, 0, invert, 0)
    workflow = ui.saved()           # {"nodes": [...], "links": [[id, origin, slot, target, slot, type]], ...}

Subgraph definitions use the same builder (`UIGraph(subgraph_id=...)`) and `definition()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Slot = tuple[str, str] | tuple[str, str, str]  # (name, type) or (name, type, widget name)


class UIGraph:
    def __init__(self, subgraph_id: str | None = None) -> None:
        self.subgraph_id = subgraph_id
        self.nodes: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.inputs: list[dict[str, Any]] = []
        self.outputs: list[dict[str, Any]] = []

    def node(
        self,
        node_id: int,
        class_type: str,
        values: list[Any] | None = None,
        *,
        inputs: Sequence[Slot] = (),
        outputs: Sequence[str] = (),
        title: str | None = None,
        mode: int = 0,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": node_id,
            "type": class_type,
            "mode": mode,
            "inputs": [_slot(s) for s in inputs],
            "outputs": [{"name": t, "type": t, "links": []} for t in outputs],
            "properties": properties or {"Node name for S&R": class_type},
            "widgets_values": list(values or []),
        }
        if title is not None:
            node["title"] = title
        self.nodes.append(node)
        return node

    def link(self, origin: dict[str, Any] | int, origin_slot: int, target: dict[str, Any] | int, target_slot: int) -> int:
        """Links two nodes; -10 / -20 stand for a subgraph's input and output nodes."""
        link_id = 1000 + len(self.links) if self.subgraph_id else len(self.links) + 1
        origin_id = origin if isinstance(origin, int) else origin["id"]
        target_id = target if isinstance(target, int) else target["id"]
        if isinstance(origin, dict):
            origin["outputs"][origin_slot]["links"].append(link_id)
        elif origin == -10:
            self.inputs[origin_slot]["linkIds"].append(link_id)
        if isinstance(target, dict):
            target["inputs"][target_slot]["link"] = link_id
        elif target == -20:
            self.outputs[target_slot]["linkIds"].append(link_id)
        ends = {"origin_id": origin_id, "origin_slot": origin_slot, "target_id": target_id, "target_slot": target_slot}
        self.links.append({"id": link_id, **ends, "type": "*"})
        return link_id

    def subgraph_input(self, name: str, type_: str) -> None:
        self.inputs.append({"id": f"in-{name}", "name": name, "type": type_, "linkIds": []})

    def subgraph_output(self, name: str, type_: str) -> None:
        self.outputs.append({"id": f"out-{name}", "name": name, "type": type_, "linkIds": []})

    def definition(self) -> dict[str, Any]:
        assert self.subgraph_id is not None
        graph = {"nodes": self.nodes, "links": self.links, "inputs": self.inputs, "outputs": self.outputs}
        return {"id": self.subgraph_id, "name": self.subgraph_id, **graph}

    def saved(self, *subgraphs: UIGraph, object_links: bool = False) -> dict[str, Any]:
        """The root graph as saved: links as arrays (or objects, as some files have them)."""
        links: list[Any] = (
            self.links
            if object_links
            else [[k["id"], k["origin_id"], k["origin_slot"], k["target_id"], k["target_slot"], k["type"]] for k in self.links]
        )
        workflow: dict[str, Any] = {"version": 0.4, "nodes": self.nodes, "links": links, "groups": [], "extra": {}}
        if subgraphs:
            workflow["definitions"] = {"subgraphs": [s.definition() for s in subgraphs]}
        return workflow


def _slot(slot: Slot) -> dict[str, Any]:
    found: dict[str, Any] = {"name": slot[0], "type": slot[1], "link": None}
    if len(slot) == 3:
        found["widget"] = {"name": slot[2]}
    return found
