"""POST /api/connect/convert against the real frontend: every shipped template, converted both ways.

Each workflow template of the installed `comfyui-workflow-templates` packages whose node classes this
ComfyUI has is loaded in the real page (`app.loadGraphData`) and converted by the frontend's own
`app.graphToPrompt()`; the server's conversion of the same file must be the same prompt, node for
node. The count is written to artifacts/frontend/ (and the differences, when there are any).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from launcher import ComfyServer, comfy_python

from .comfy_page import ComfyPage, server_call
from .conftest import ARTIFACTS

# Nodes only the page knows; a template made of installed classes and these can be converted.
PAGE_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}


def _templates() -> list[Path]:
    """The template files shipped with the ComfyUI under test (its own venv's packages)."""
    purelib = subprocess.run(
        [comfy_python(), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    found = sorted(Path(purelib).glob("comfyui_workflow_templates*/templates/*.json"))
    assert found, f"no comfyui-workflow-templates package in {purelib}"
    return found


def _classes(workflow: dict[str, Any]) -> set[str]:
    subgraphs = ((workflow.get("definitions") or {}).get("subgraphs")) or []
    nodes = [*workflow["nodes"], *(node for subgraph in subgraphs for node in subgraph.get("nodes", []))]
    return {node["type"] for node in nodes} - {subgraph["id"] for subgraph in subgraphs}


def _convertible(installed: set[str]) -> dict[str, dict[str, Any]]:
    workflows: dict[str, dict[str, Any]] = {}
    for path in _templates():
        workflow = json.loads(path.read_text())
        if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list) and _classes(workflow) <= installed | PAGE_ONLY:
            workflows[path.name] = workflow
    return workflows


def _differences(page: dict[str, Any], server: dict[str, Any]) -> list[str]:
    found = [f"{node_id}: only in the page" for node_id in page.keys() - server.keys()]
    found += [f"{node_id}: only from the server" for node_id in server.keys() - page.keys()]
    both = page.keys() & server.keys()
    found += [f"{node_id}: page {page[node_id]} server {server[node_id]}" for node_id in both if page[node_id] != server[node_id]]
    return found


def test_the_server_converts_every_installed_template_as_the_page_does(ui: ComfyPage, comfy: ComfyServer) -> None:
    status, object_info = server_call(comfy.url, "GET", "/api/object_info")
    assert status == 200
    workflows = _convertible(set(object_info))
    assert len(workflows) > 50  # the packages ship well over a hundred; most use core nodes only
    version = ui.js("async () => (await app.graphToPrompt()).workflow.extra.frontendVersion")

    mismatches: dict[str, list[str]] = {}
    for name, workflow in workflows.items():
        load = "async ([workflow, name]) => { await app.loadGraphData(workflow, true, true, name);"
        page_prompt = ui.js(load + " return (await app.graphToPrompt()).output }", [workflow, name])
        status, converted = server_call(comfy.url, "POST", "/api/connect/convert", workflow)
        if status != 200:
            mismatches[name] = [f"HTTP {status}: {converted}"]
        elif differences := _differences(page_prompt, converted["prompt"]):
            mismatches[name] = differences

    identical = len(workflows) - len(mismatches)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = {"frontend": version, "identical": identical, "templates": len(workflows), "mismatches": mismatches}
    (ARTIFACTS / f"convert-templates-{version}.json").write_text(json.dumps(report, indent=1))
    assert mismatches == {}, f"{identical} of {len(workflows)} identical; differences: {json.dumps(mismatches, indent=1)[:4000]}"
