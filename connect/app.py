"""The plugin's state, and ``setup()``, the one call that wires it into a running ComfyUI.

    from .connect.app import setup
    setup()          # registers the routes on PromptServer.instance

Nothing happens at import time; everything hangs off the ``Connect`` object built here.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth import ApiKey, KeyConfigError, KeyRing
from .bypass import apply_bypass
from .cache import keepalive_nodes
from .comfy import ComfyAdapter
from .contract import build_contract
from .delivery import Delivery
from .executor import Executor
from .files import FileLimits, InputFiles, Upload
from .gate import Cors, Gate, lockdown
from .health import Probe
from .jobs import JobRecord, MemoryJobStore
from .limits import Admission, check_batch
from .links import FileLinks
from .loaders import LoaderKind, loader_kind
from .metrics import Metrics
from .netguard import parse_networks
from .nodespec import NodeSpec
from .openapi import build_document
from .outputs import uncached_outputs
from .pathguard import check_path_inputs
from .payload import patch_prompt
from .results import render_outputs
from .runner import JobRunner
from .settings import Settings
from .store import SavedWorkflow, WorkflowStore
from .validation import BodyChecks
from .webhooks import WebhookPolicy, parse_secret
from .workflow import Endpoint, Prompt

log = logging.getLogger("comfyui-connect")

VERSION = "0.1.0"
# Files edited on disk change the `!cache` set; re-read it at most this often.
_KEEPALIVE_TTL = 1.0
# With any of these set, broken settings lock the server instead of leaving it open.
_ACCESS_SETTINGS = ("CONNECT_API_KEYS", "CONNECT_API_KEYS_FILE", "CONNECT_PROTECT_ALL")


@dataclass
class Connect:
    settings: Settings
    comfy: ComfyAdapter
    store: WorkflowStore
    files: InputFiles
    executor: Executor
    docs_assets: Path
    gate: Gate
    probe: Probe
    metrics: Metrics
    jobs: JobRunner = field(init=False)
    delivery: Delivery
    checks: BodyChecks
    _specs: dict[str, NodeSpec | None] = field(default_factory=dict)
    _keepalive: tuple[float, Prompt] = (0.0, {})

    def spec(self, class_type: str) -> NodeSpec | None:
        # Types never change while ComfyUI runs; combo choices do, so the document reads them live.
        if class_type not in self._specs:
            self._specs[class_type] = self.comfy.node_spec(class_type)
        return self._specs[class_type]

    def directory_of(self, kind: str) -> Path | None:
        return self.comfy.directory_of(kind)

    def workflows_changed(self) -> None:
        self._keepalive = (0.0, {})
        self.checks.clear()

    def keepalive(self) -> Prompt:
        stamp, nodes = self._keepalive
        now = time.monotonic()
        if now - stamp > _KEEPALIVE_TTL:
            good, _ = self.store.load_all()
            nodes = keepalive_nodes(good, self.spec)
            self._keepalive = (now, nodes)
        return nodes

    async def prepare(
        self, saved: SavedWorkflow, payload: Any, parts: Mapping[str, Upload] | None = None
    ) -> tuple[Prompt, dict[str, tuple[str, ...]]]:
        """The prompt to queue for this payload, and each `#` output's nodes in it; or the error why not.

        `parts` are the files of a multipart request (multipart.py)."""
        endpoint = saved.endpoint
        check_batch(payload, self.settings.max_batch)
        check_path_inputs(endpoint, payload, self.spec)
        self.checks.validate(saved.name, endpoint, payload)
        patched = await patch_prompt(endpoint, payload, self._file_resolver(endpoint, parts))
        prompt = apply_bypass(patched.prompt, patched.bypass, self.spec)
        prompt = {**self.keepalive(), **prompt}
        output_nodes = tuple(node_id for ids in endpoint.outputs.values() for node_id in ids)
        if not self.settings.keep_outputs:  # kept files may be handed back from ComfyUI's cache
            prompt = uncached_outputs(prompt, output_nodes, self.spec, uuid.uuid4().hex)
        outputs = {name: tuple(n for n in ids if n in prompt) for name, ids in endpoint.outputs.items()}
        return prompt, outputs

    def discard_outputs(self, job: JobRecord) -> None:
        if job.result is not None and job.output_nodes is not None:
            self.delivery.discard(job.result, job.output_nodes)

    async def render(self, job: JobRecord) -> Any:
        return await render_outputs(job.outputs or {}, job.delivery, self.directory_of)

    def run_timeout(self, saved: SavedWorkflow, requested: float | None) -> float:
        """The request's timeout, else the workflow's own, never over CONNECT_RUN_TIMEOUT."""
        return min(requested or saved.timeout or self.settings.run_timeout, self.settings.run_timeout)

    def _file_resolver(self, endpoint: Endpoint, parts: Mapping[str, Upload] | None) -> Callable[[str, Mapping[str, Any]], Awaitable[str]]:
        """Store each file input, checked against what its loader node expects (image, video, audio)."""
        kinds: dict[str, LoaderKind | None] = {}
        for group in endpoint.groups.values():
            for input_name, node_ids in group.targets.items():
                specs = [self.spec(endpoint.prompt[node_id]["class_type"]) for node_id in node_ids]
                found = [loader_kind(s.input(input_name)) for s in specs if s is not None]
                kinds[f"{group.name}.{input_name}"] = next((k for k in found if k), None)

        def resolve(path: str, spec: Mapping[str, Any]) -> Awaitable[str]:
            return self.files.resolve(path, spec, kind=kinds.get(path), parts=parts)

        return resolve

    def openapi_document(self, key: ApiKey | None = None) -> dict[str, Any]:
        good, bad = self.store.load_all()
        if key is not None:  # a key limited to some workflows sees only those
            good = [w for w in good if key.sees(w.name)]
            bad = {n: e for n, e in bad.items() if key.sees(n)}
        return build_document(
            good,
            self.comfy.node_spec,
            bad,
            VERSION,
            self.settings.run_timeout,
            secured=self.gate.keys.enabled,
            sync_wait=self.settings.sync_wait,
        )

    def metrics_text(self) -> str:
        gauges = {
            "connect_queue_depth": ("Prompts waiting or running on ComfyUI's queue", float(self.comfy.queue_depth())),
            "connect_runs_in_flight": ("API runs admitted and not yet answered", float(self.gate.admission.in_flight)),
            "connect_prompt_worker_alive": ("1 while ComfyUI's prompt worker thread runs", float(self.comfy.worker_alive())),
        }
        return self.metrics.render(gauges)


def setup(comfy: ComfyAdapter | None = None, settings: Settings | None = None) -> Connect:
    comfy = comfy or ComfyAdapter.from_running_server()
    try:
        settings = settings or Settings()
        keys = KeyRing.load(settings.api_keys, settings.api_keys_file)
        networks = parse_networks(settings.url_allow_networks)
        webhook_key = parse_secret(settings.webhook_secret)
        if settings.protect_all and not keys.enabled:
            raise KeyConfigError("CONNECT_PROTECT_ALL=1 needs at least one API key (CONNECT_API_KEYS or CONNECT_API_KEYS_FILE)")
    except ValueError as exc:  # pydantic's ValidationError, KeyConfigError, a bad network
        if any(os.environ.get(name) for name in _ACCESS_SETTINGS):
            log.error("ComfyUI-Connect: access settings are invalid, every request is refused: %s", exc)
            comfy.add_middleware(lockdown(str(exc)))
        raise
    store_dir = settings.workflows_dir or comfy.user_dir() / "connect" / "workflows"
    limits = FileLimits(settings.max_file_bytes, settings.url_timeout, settings.allow_private_urls, settings.max_image_pixels, networks)
    links = FileLinks(comfy.user_dir() / "connect" / "files", settings.file_url_ttl)
    metrics = Metrics()
    admission = Admission(settings.max_queue, settings.max_queue_per_client, comfy.queue_depth, metrics.mean_execution_seconds)
    gate = Gate(
        keys, settings.protect_all, Cors.parse(settings.cors_origins), settings.max_body_bytes, admission, metrics, comfy.worker_alive
    )
    connect = Connect(
        settings=settings,
        comfy=comfy,
        store=WorkflowStore(Path(store_dir)),
        files=InputFiles(comfy.input_dir(), limits),
        executor=Executor(comfy),
        docs_assets=_swagger_ui_static(),
        gate=gate,
        probe=Probe(comfy.queue_depth, comfy.worker_alive, settings.ready_max_queue or settings.max_queue, time.monotonic(), VERSION),
        metrics=metrics,
        delivery=Delivery(comfy.directory_of, links, settings.keep_outputs, settings.public_url),
        checks=BodyChecks(lambda endpoint: build_contract(endpoint, comfy.node_spec)),
    )
    webhooks = WebhookPolicy(
        webhook_key, settings.webhook_attempts, settings.webhook_backoff, settings.webhook_timeout, settings.allow_private_urls, networks
    )
    store = MemoryJobStore(settings.jobs_max, settings.jobs_ttl, settings.job_results_ttl, connect.discard_outputs)
    connect.jobs = JobRunner(comfy, connect.executor, store, connect.prepare, connect.render, webhooks)
    comfy.on_complete(metrics.prompt_finished)
    comfy.add_middleware(gate.middleware())
    if keys.enabled and not settings.protect_all:
        log.warning("ComfyUI-Connect: API keys guard /api/connect only; set CONNECT_PROTECT_ALL=1 to guard ComfyUI too")
    swept = connect.store.sweep() + connect.files.sweep()
    expired = links.load()
    if expired:
        log.info("ComfyUI-Connect: removed %d expired download links", expired)
    connect.delivery.start_sweeps(comfy.loop)
    if swept:
        log.info("ComfyUI-Connect: removed %d temp files left by an interrupted write", swept)
    from .routes import register

    register(comfy.routes, connect)
    return connect


def _swagger_ui_static() -> Path:
    # Locate swagger-ui-py's bundled assets without importing the package (and its web frameworks).
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ComfyUI-Connect needs the 'swagger-ui-py' package: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
