"""The OpenAPI 3.1 document: every route the plugin serves, and one typed run operation per saved workflow.

Each run operation's request schema is ``contract.body_schema()``, the same schema the run path
validates against (see schema.py, validation.py), built when the document is requested: combo lists
(model files, samplers) are the live ones, and each input's `default` is the value saved in the
workflow. Every error response is described by its status, its `type` and the shape of its `details`
(responses.py). This module assembles the pieces: the operations of run.py, manage.py, jobs.py,
service.py and io.py, the info, the components, and the security scheme when keys are configured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ... import errors as e
from ...workflow.store import SavedWorkflow
from ..schema import SHARED_SCHEMAS, SpecLookup, build_contract
from .cluster import cluster_paths
from .io import SCHEMAS as OUTPUT_SCHEMAS
from .io import files_operation
from .jobs import JOB_SCHEMAS, job_paths
from .manage import convert_schemas, convert_workflow, list_workflows, management_ops, readiness_operation, save_request, workflow_schemas
from .responses import PREFIX, PROBLEM_SCHEMAS, error_schemas, errors
from .run import GENERIC_BODY, run_operation
from .service import docs_asset, docs_page, openapi_json, service_paths
from .versions import VERSION_SCHEMAS, version_paths, versioned

# Routes that answer without an API key even when keys are configured.
_PUBLIC_OPERATIONS = ("health", "ready", "login_page", "login", "logout", "docs_page", "docs_asset", "download_file")


def build_document(
    workflows: list[SavedWorkflow],
    specs: SpecLookup,
    broken: Mapping[str, e.ConnectError],
    version: str,
    run_timeout: float = 600.0,
    *,
    secured: bool = False,
    sync_wait: float = 100.0,
) -> dict[str, Any]:
    ids = operation_suffixes(w.name for w in workflows)
    paths: dict[str, Any] = {
        PREFIX: {"get": docs_page()},
        f"{PREFIX}/docs/{{asset}}": {"get": docs_asset()},
        f"{PREFIX}/openapi.json": {"get": openapi_json()},
        f"{PREFIX}/workflows": {"get": list_workflows()},
        f"{PREFIX}/convert": {"post": convert_workflow()},
        f"{PREFIX}/workflows/{{name}}": versioned(
            {
                **management_ops(""),
                "post": run_operation("run_workflow", "Run a saved workflow by name", GENERIC_BODY, None, None, run_timeout, sync_wait),
            }
        ),
        **version_paths(),
        f"{PREFIX}/workflows/{{name}}/ready": {"get": readiness_operation()},
        **job_paths(),
        f"{PREFIX}/files/{{token}}/{{name}}": {"get": files_operation(errors((e.NotFound,)))},
        **service_paths(),
        **cluster_paths(),
    }
    for saved in workflows:
        suffix = ids[saved.name]
        contract = build_contract(saved.endpoint, specs)
        body, example = contract.body_schema(), contract.example()
        outputs = list(saved.endpoint.outputs)
        run = run_operation("run" + suffix, f"Run workflow {saved.name}", body, example, outputs, run_timeout, sync_wait)
        paths[f"{PREFIX}/workflows/{saved.name}"] = versioned({**management_ops(suffix), "post": run})
    description = "Saved ComfyUI workflows served as HTTP endpoints. Run one with `POST /api/connect/workflows/<name>`."
    if broken:
        description += "\n\nWorkflows that cannot be served:\n" + "\n".join(f"- `{n}`: {err.message}" for n, err in sorted(broken.items()))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ComfyUI-Connect", "version": version, "description": description},
        "tags": [
            {"name": "workflows", "description": "Run saved workflows"},
            {"name": "jobs", "description": "Follow, list and cancel runs; progress as Server-Sent Events"},
            {"name": "manage", "description": "Save, list, describe and delete workflows"},
            {"name": "docs", "description": "This document and its page"},
            {"name": "service", "description": "Health, readiness, metrics and the browser login"},
        ],
        "paths": paths,
        "components": {"schemas": _components()},
    }
    return _secure(document) if secured else document


def _secure(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer key (Swagger UI's Authorize button) and the 401/403 every guarded route can answer."""
    document["components"]["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer", "description": "A key of CONNECT_API_KEYS"}}
    document["security"] = [{"apiKey": []}]
    for item in document["paths"].values():
        for operation in item.values():
            if operation["operationId"] in _PUBLIC_OPERATIONS:
                operation["security"] = []
            else:
                auth = errors((e.Unauthorized, e.Forbidden))
                operation["responses"].update({status: auth[status] for status in ("401", "403")})
    return document


def operation_suffixes(names: Iterable[str]) -> dict[str, str]:
    """`team/up-scale` -> `_team_up_scale`; names that map to the same identifier get `_2`, `_3`..."""
    taken: set[str] = set()
    suffixes = {}
    for name in sorted(names):
        base = "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        suffix, n = base, 1
        while suffix in taken:
            n += 1
            suffix = f"{base}_{n}"
        taken.add(suffix)
        suffixes[name] = suffix
    return suffixes


def _components() -> dict[str, Any]:
    return {
        **SHARED_SCHEMAS,
        **OUTPUT_SCHEMAS,
        **PROBLEM_SCHEMAS,
        **error_schemas(),
        "SaveRequest": save_request(),
        **convert_schemas(),
        **JOB_SCHEMAS,
        **workflow_schemas(),
        **VERSION_SCHEMAS,
    }
