"""The plugin's state as the HTTP layer sees it, kept on the aiohttp app under one typed key.

    app[CONNECT] = connect            # plugin.setup() does this once
    connect = state(request)          # every handler starts here

Handlers never import the composition root (plugin.py): they read this key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ..cluster.view import ClusterView
from ..comfy.engine import Engine
from ..contract.openapi import build_document
from ..errors import ConnectError
from ..io.delivery import Choice, Delivery
from ..io.inputs import InputFiles
from ..ops.health import Probe
from ..ops.metrics import Gauge, Metrics
from ..ops.overview import Overview
from ..run.jobs import JobRecord
from ..run.prepare import Preparer
from ..run.runner import JobRunner
from ..settings import Settings
from ..workflow.convert import convert
from ..workflow.meta import LATEST_CHECKED, parse_version
from ..workflow.store import SavedWorkflow, Workflows
from ..workflow.versions import VersionStore
from .auth import ApiKey
from .gate import Gate

VERSION = "0.1.0"


@dataclass
class Connect:
    settings: Settings
    comfy: Engine
    store: Workflows
    files: InputFiles
    preparer: Preparer
    docs_assets: Path
    gate: Gate
    probe: Probe
    metrics: Metrics
    delivery: Delivery
    jobs: JobRunner
    cluster: ClusterView | None = None  # set when CONNECT_CLUSTER_URL is
    overview: Overview | None = None  # GET /api/connect/cluster, its page, the autoscaling metrics
    versions: VersionStore | None = None  # every endpoint's versions (the local store's; README "Versions")

    def workflows_changed(self) -> None:
        self.preparer.workflows_changed()
        if self.overview is not None:
            self.overview.workflows_changed()

    def run_timeout(self, saved: SavedWorkflow, requested: float | None) -> float:
        """The request's timeout, else the workflow's own, never over CONNECT_RUN_TIMEOUT."""
        return min(requested or saved.timeout or self.settings.run_timeout, self.settings.run_timeout)

    async def render(self, job: JobRecord, choice: Choice | None = None) -> dict[str, Any] | None:
        """A finished job's outputs in `choice` (default: as its run call chose); None once they are gone."""
        if job.outputs is None or job.result is None or job.output_nodes is None:
            return None
        return await self.delivery.job_outputs(job.result, job.output_nodes, choice or job.delivery)

    def visible(self, key: ApiKey | None) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """The stored workflows and the unreadable ones that `key` may see (all of them without keys)."""
        good, bad = self.store.load_all()
        if key is not None:  # a key limited to some workflows sees only those
            good, bad = [w for w in good if key.sees(w.name)], {n: e for n, e in bad.items() if key.sees(n)}
        return good, bad

    def openapi_document(self, key: ApiKey | None = None) -> dict[str, Any]:
        good, bad = self.visible(key)
        return build_document(
            good,
            self.comfy.node_spec,
            bad,
            VERSION,
            self.settings.run_timeout,
            secured=self.gate.keys.enabled,
            sync_wait=self.settings.sync_wait,
        )

    def convert(self, workflow: Any) -> dict[str, Any]:
        """The API-format prompt ComfyUI's frontend makes of this UI-format workflow (reads files: not on the loop)."""
        frontend = self.comfy.frontend()
        version = parse_version(frontend.version) if frontend.version else LATEST_CHECKED
        return convert(workflow, self.comfy.node_info, version, frontend.display_names)

    def metrics_text(self, instance: str | None = None, labelled: list[Gauge] | None = None) -> str:
        gauges = {
            "connect_queue_depth": ("Prompts waiting or running on ComfyUI's queue", float(self.comfy.queue_depth())),
            "connect_runs_in_flight": ("API runs admitted and not yet answered", float(self.gate.admission.in_flight)),
            "connect_prompt_worker_alive": ("1 while ComfyUI's prompt worker thread runs", float(self.comfy.worker_alive())),
        }
        return self.metrics.render(gauges, instance, labelled or [])


CONNECT = web.AppKey("comfyui_connect", Connect)


def state(request: web.Request) -> Connect:
    try:
        return request.app[CONNECT]
    except KeyError:
        raise RuntimeError("ComfyUI-Connect: plugin.setup() must run before its routes are served") from None
