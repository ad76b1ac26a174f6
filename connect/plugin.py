"""``setup()``: the one call that builds the plugin and wires it into a running ComfyUI.

    from .connect.plugin import setup
    setup()          # registers the routes on PromptServer.instance

Nothing happens at import time. This is the composition root: the only module that knows every
part; everything else is handed what it needs here.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cluster.queues import ClusterQueues
from .cluster.stats import RunStats
from .comfy.adapter import ComfyAdapter
from .comfy.engine import Host
from .contract.schema import build_contract
from .contract.validation import BodyChecks
from .http.auth import KeyConfigError, KeyRing
from .http.gate import Cors, Gate, lockdown
from .http.routes import register
from .http.state import CONNECT, VERSION, Connect
from .io.delivery import Delivery
from .io.inputs import FileLimits, InputFiles
from .io.links import FileLinks, SharedLinks
from .io.netguard import parse_networks
from .io.retention import Retention, named_files
from .ops.health import Probe
from .ops.metrics import Metrics
from .ops.overview import Overview
from .run.events import EventHub
from .run.executor import Executor
from .run.idempotency import LocalIdempotencyLock
from .run.jobs import JobRecord, JobStore, MemoryJobStore
from .run.jobstore_sqlite import SqliteJobStore
from .run.limits import Admission, LocalCounters
from .run.prepare import Preparer
from .run.ready import ReadinessChecks, self_checked
from .run.runner import JobRunner, Render
from .run.watch import WatchedJobs
from .run.webhooks import WebhookPolicy, parse_secret
from .settings import Settings
from .workflow.plain import folder_reader
from .workflow.sources import Sources
from .workflow.store import Workflows, WorkflowStore
from .workflow.userflows import UserWorkflows

if TYPE_CHECKING:
    from .cluster.node import Cluster

log = logging.getLogger("comfyui-connect")

# With any of these set, broken settings lock the server instead of leaving it open.
_ACCESS_SETTINGS = ("CONNECT_API_KEYS", "CONNECT_API_KEYS_FILE", "CONNECT_PROTECT_ALL")

__all__ = ["VERSION", "Connect", "setup"]


def setup(comfy: Host | None = None, settings: Settings | None = None) -> Connect:
    """Build the plugin on `comfy` (the running ComfyUI by default; tests pass an in-process fake)."""
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
    admission = Admission(
        settings.max_queue, settings.max_queue_per_client, comfy.queue_depth, metrics.mean_execution_seconds, LocalCounters()
    )
    gate = Gate(
        keys, settings.protect_all, Cors.parse(settings.cors_origins), settings.max_body_bytes, admission, metrics, comfy.worker_alive
    )
    # Plain UI files are converted as the frontend this ComfyUI serves would (Connect.convert, bound below).
    convert: Callable[[Any], dict[str, Any]] = lambda workflow: connect.convert(workflow)  # noqa: E731
    # A folder of the user's own (a git checkout) gets no .versions/ of ours: its history lives in the user dir.
    versions = comfy.user_dir() / "connect" if settings.workflows_dir else None
    local_store = WorkflowStore(Path(store_dir), settings.workflow_versions, plain=folder_reader(convert), versions=versions)
    stats = RunStats()  # fed by the job runner; read by heartbeats, GET /cluster and /metrics
    cluster = _cluster(settings, local_store, comfy, lambda: overview.local())
    users = UserWorkflows(comfy.user_workflows_dir(), convert) if settings.serve_user_workflows else None
    store: Workflows = Sources(cluster.store if cluster else local_store, users)
    files = InputFiles(comfy.input_dir(), limits)
    checks = BodyChecks(lambda endpoint: build_contract(endpoint, comfy.node_spec))
    preparer = Preparer(
        comfy.node_spec,
        store,
        files,
        checks,
        max_batch=settings.max_batch,
        keep_outputs=settings.keep_outputs,
        self_validating=comfy.validates_itself,
        metadata=settings.metadata,
        readiness=ReadinessChecks(comfy.node_spec, self_checked(comfy.validates_itself, comfy.directory_of), replaced=comfy.replaced),
    )
    delivery = Delivery(comfy.directory_of, links, settings.keep_outputs, settings.public_url)

    def discard_outputs(job: JobRecord) -> None:
        if job.result is not None and job.output_nodes is not None:
            delivery.discard(job.result, job.output_nodes)

    webhooks = WebhookPolicy(
        webhook_key, settings.webhook_attempts, settings.webhook_backoff, settings.webhook_timeout, settings.allow_private_urls, networks
    )
    # Statistics see each job accepted and ended through the writes to its store (run/watch.py).
    job_store = WatchedJobs(_job_store(settings, comfy.user_dir() / "connect" / "jobs.sqlite3", discard_outputs), stats)
    # A file is in use while a prompt on ComfyUI's queue names it, or a job not yet re-queued after a restart.
    retention = Retention(
        files.folder,
        settings.input_ttl,
        settings.input_max_bytes,
        lambda: named_files(comfy.queued_prompts()) | named_files(job_store.held_prompts()),
    )
    executor = Executor(comfy)
    runner = (
        _cluster_jobs(cluster, settings, comfy, executor, preparer, lambda job: connect.render(job), webhooks, stats)
        if cluster
        else JobRunner(
            comfy,
            executor,
            job_store,
            EventHub(comfy.queue_positions),
            LocalIdempotencyLock(),
            preparer.prepare,
            lambda job: connect.render(job),
            webhooks,
            settings.metadata,
        )
    )
    connect = Connect(
        settings=settings,
        comfy=comfy,
        store=store,
        files=files,
        preparer=preparer,
        docs_assets=_swagger_ui_static(),
        gate=gate,
        probe=Probe(
            comfy.queue_depth,
            comfy.worker_alive,
            settings.ready_max_queue or settings.max_queue,
            time.monotonic(),
            VERSION,
            cluster.status if cluster else None,
        ),
        metrics=metrics,
        delivery=delivery,
        jobs=runner,
        cluster=cluster,
        versions=local_store.versions,
    )
    queues = _cluster_queues(runner, settings) if cluster else None  # connect:jobs in Redis, not the heartbeats' local queues
    overview = Overview(stats, comfy, store, lambda: connect.jobs.progress, cluster, settings.autoscale_target, VERSION, queues)
    connect.overview = overview
    comfy.on_complete(metrics.prompt_finished)
    comfy.hide_internals_from_outputs()
    for middleware in reversed(gate.middlewares()):  # each goes in front: the first of the list ends outermost
        comfy.add_middleware(middleware)
    if keys.enabled and not settings.protect_all:
        log.warning("ComfyUI-Connect: API keys guard /api/connect only; set CONNECT_PROTECT_ALL=1 to guard ComfyUI too")
    swept = local_store.sweep() + files.sweep()
    expired = links.load()
    if expired:
        log.info("ComfyUI-Connect: removed %d expired download links", expired)
    delivery.start_sweeps(comfy.loop)
    retention.start(comfy.loop, settings.input_sweep)
    if swept:
        log.info("ComfyUI-Connect: removed %d temp files left by an interrupted write", swept)
    comfy.set_app_state(CONNECT, connect)
    register(comfy.routes)
    if cluster:
        links.shared = _shared_links(cluster, comfy.loop)  # ?output=url links download from every instance
        cluster.start(comfy.loop, connect.workflows_changed)
    _when_ready(comfy, lambda: connect.jobs.recover(store.load))
    if cluster:  # a worker takes jobs once ComfyUI has loaded every node pack, as recovery does
        _when_ready(comfy, lambda: _cluster_worker(cluster, connect, settings, discard_outputs))
    return connect


def _cluster(settings: Settings, local: WorkflowStore, comfy: Host, stats: Callable[[], dict[str, Any]]) -> Cluster | None:
    """The cluster membership when CONNECT_CLUSTER_URL is set; only then is redis-py imported."""
    if not settings.cluster_url:
        return None
    from .cluster.node import Cluster

    return Cluster(
        settings.cluster_url, settings.cluster_role, settings.instance_id, settings.cluster_heartbeat, local, comfy, VERSION, stats
    )


def _cluster_jobs(
    cluster: Cluster,
    settings: Settings,
    comfy: Host,
    executor: Executor,
    preparer: Preparer,
    render: Render,
    webhooks: WebhookPolicy,
    stats: RunStats,
) -> JobRunner:
    """Jobs queued in the cluster's Redis and readable on every instance (connect/cluster/jobs.py)."""
    from .cluster.jobwiring import cluster_jobs

    preparer.readiness.refuse_here = False  # the workers' reports decide (cluster/fitness.py), not this box
    return cluster_jobs(cluster, settings, comfy, executor, preparer.prepare, render, webhooks, settings.metadata, stats)


def _shared_links(cluster: Cluster, loop: asyncio.AbstractEventLoop) -> SharedLinks:
    from .cluster.downloads import ClusterLinks

    return ClusterLinks(cluster.link, loop)


def _cluster_queues(runner: JobRunner, settings: Settings) -> ClusterQueues:
    from .cluster.jobs import ClusterJobs
    from .cluster.jobwiring import cluster_queues

    assert isinstance(runner, ClusterJobs)
    return cluster_queues(runner, settings)


async def _cluster_worker(cluster: Cluster, connect: Connect, settings: Settings, discard: Callable[[JobRecord], None]) -> None:
    from .cluster.jobs import ClusterJobs
    from .cluster.jobwiring import start_worker

    assert isinstance(connect.jobs, ClusterJobs)
    comfy = connect.comfy
    start_worker(cluster, connect.jobs, settings, connect.store.load, comfy.directory_of, discard, comfy.loop, connect.preparer.readiness)


def _job_store(settings: Settings, path: Path, discard: Callable[[JobRecord], None]) -> JobStore:
    if settings.jobs_store == "memory":
        return MemoryJobStore(settings.jobs_max, settings.jobs_ttl, settings.job_results_ttl, discard)
    return SqliteJobStore.open(path, settings.jobs_max, settings.jobs_ttl, settings.job_results_ttl, discard)


def _when_ready(comfy: Host, start: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Start `start()` on ComfyUI's loop once its prompt worker runs: every node pack is loaded by then
    (setup() runs while they load), so a re-queued prompt's nodes are all known."""
    loop = comfy.loop
    tasks: list[asyncio.Task[Any]] = []  # held: a task nobody references may be collected mid-run

    def check() -> None:
        if comfy.worker_alive():
            tasks.append(loop.create_task(start()))
        else:
            loop.call_later(0.1, check)

    loop.call_soon(check)


def _swagger_ui_static() -> Path:
    # Locate swagger-ui-py's bundled assets without importing the package (and its web frameworks).
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ComfyUI-Connect needs the 'swagger-ui-py' package: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
