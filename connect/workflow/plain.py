"""Plain workflow files read as endpoints: what ComfyUI's Ctrl+S writes (UI format: ``nodes``,
``links``...) or its "Export (API)" (``{id: {class_type, inputs}}``).

    reader = folder_reader(convert)            # for WorkflowStore(root, plain=reader)
    saved = reader(document, "team/portrait", "team/portrait.json", saved_at)

A UI file is converted to its prompt on the server (workflow/convert.py, through `convert`, which
knows ComfyUI's node definitions). A file that is neither format, or cannot be converted, or whose
annotations are wrong, raises WorkflowCorrupt naming the file and why; a file of the workflows folder
whose titles carry no annotation at all is NotAnEndpoint (it may just be a workflow kept beside them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConnectError, NotAnEndpoint, WorkflowCorrupt
from .annotations import TitleError, parse_title
from .endpoint import Endpoint, parse_endpoint
from .store import PlainReader, SavedWorkflow, Source, plain_kind
from .versions import version_id

# A UI-format workflow -> its API-format prompt, as ComfyUI's frontend makes it (http/state.py).
Converter = Callable[[Any], dict[str, Any]]


def read_plain(document: Any, name: str, file: str, saved_at: str, convert: Converter, source: Source) -> SavedWorkflow:
    """`document` (UI or API format) as the endpoint `name`; WorkflowCorrupt says why it cannot be one."""
    details = {"name": name, "file": file, "source": source}
    kind = plain_kind(document)
    if kind is None:
        raise WorkflowCorrupt(
            f"the file {file!r} is neither a UI-format workflow (an object with 'nodes' and 'links', what ComfyUI saves)"
            " nor an API-format prompt (an object of nodes with 'class_type' and 'inputs')",
            details,
        )
    try:
        prompt = convert(document) if kind == "ui" else document
        endpoint = parse_endpoint(prompt)
    except ConnectError as exc:
        raise WorkflowCorrupt(f"the file {file!r} cannot be served: {exc.message}", {**details, "cause": exc.body()["error"]}) from exc
    # One odd file must only break its own endpoint, never the listing of all of them.
    except Exception as exc:
        raise WorkflowCorrupt(f"the file {file!r} cannot be converted: {type(exc).__name__}: {exc}", details) from exc
    return SavedWorkflow(name, endpoint, document if kind == "ui" else None, saved_at, version=version_id(prompt), source=source, file=file)


def annotated(endpoint: Endpoint) -> bool:
    return bool(endpoint.groups or endpoint.outputs or endpoint.bypassed or endpoint.cached)


def folder_reader(convert: Converter) -> PlainReader:
    """Reads the plain files of CONNECT_WORKFLOWS_DIR: an endpoint when its titles carry annotations."""

    def read(document: Any, name: str, file: str, saved_at: str) -> SavedWorkflow:
        saved = read_plain(document, name, file, saved_at, convert, "folder")
        if not annotated(saved.endpoint):
            raise NotAnEndpoint(
                f"the file {file!r} in the workflows folder is not an endpoint: no node title carries an annotation"
                " ($input, #output, !bypass, !cache)",
                {"name": name, "file": file, "source": "folder"},
            )
        return saved

    return read


def titles(document: Any) -> Iterator[str]:
    """Every node title of a UI (subgraphs too) or API-format document, without converting it."""
    if plain_kind(document) == "ui":
        graphs = [document, *_subgraphs(document)]
        for graph in graphs:
            for node in graph.get("nodes") or []:
                if isinstance(node, dict) and isinstance(node.get("title"), str):
                    yield node["title"]
    elif plain_kind(document) == "api":
        for node in document.values():
            meta = node.get("_meta")
            if isinstance(meta, dict) and isinstance(meta.get("title"), str):
                yield meta["title"]


def _subgraphs(document: dict[str, Any]) -> list[dict[str, Any]]:
    definitions = document.get("definitions")
    found = definitions.get("subgraphs") if isinstance(definitions, dict) else None
    return [g for g in found if isinstance(g, dict)] if isinstance(found, list) else []


def has_output_title(document: Any) -> bool:
    """Whether some title names a `#` output (or cannot be read: then converting reports why)."""
    for title in titles(document):
        if "#" not in title:
            continue
        try:
            if parse_title(title).outputs:
                return True
        except TitleError:
            return True
    return False
