"""Build the job engine of an instance in a cluster (plugin.py calls these when CONNECT_CLUSTER_URL is set).

jobs = cluster_jobs(cluster, comfy, executor, ...)    # the runner every instance answers with
queues = cluster_queues(jobs, settings)               # its queue's statistics (Redis), for the overview
start_worker(cluster, jobs, ...)                      # worker and both roles: take jobs from Redis
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from ..comfy.engine import Host
from ..run.executor import Executor
from ..run.idempotency import LocalIdempotencyLock
from ..run.jobs import JobRecord, MemoryJobStore
from ..run.ready import ReadinessChecks
from ..run.runner import Prepare, Render
from ..run.webhooks import WebhookPolicy
from ..settings import Settings
from ..workflow.store import Metadata, SavedWorkflow
from .events import ClusterEvents
from .fitness import unready
from .jobdb import JobDb
from .jobqueue import RedisQueues
from .jobs import ClusterJobs
from .lease import Lease
from .node import Cluster
from .stats import RunStats
from .sync import digest
from .worker import ClusterWorker


def cluster_jobs(
    cluster: Cluster,
    settings: Settings,
    comfy: Host,
    executor: Executor,
    prepare: Prepare,
    render: Render,
    webhooks: WebhookPolicy,
    metadata: Metadata,
    stats: RunStats | None = None,
) -> ClusterJobs:
    db = JobDb(cluster.link)
    hub = ClusterEvents(comfy.queue_positions, db, cluster.instance)
    # The local store only backs JobRunner's own bookkeeping: every record lives in Redis.
    local = MemoryJobStore(settings.jobs_max, settings.jobs_ttl, settings.job_results_ttl)
    jobs = ClusterJobs(comfy, executor, local, hub, LocalIdempotencyLock(), prepare, render, webhooks, metadata)
    limits = (settings.max_queue_per_client, settings.max_queue)
    jobs.configure(db, cluster.instance, lambda: comfy.directory_of("temp"), settings.jobs_ttl, settings.job_results_ttl, limits)
    cluster.queued = db.queued
    jobs.input_dir = comfy.input_dir()
    jobs.stats = stats
    jobs.digest = lambda name: _digest(cluster.store.local.raw(name))
    return jobs


def cluster_queues(jobs: ClusterJobs, settings: Settings) -> RedisQueues:
    """The queue statistics of connect:jobs, for GET /api/connect/cluster (ops/overview.py)."""
    return RedisQueues(jobs.db, settings.jobs_ttl)


def _digest(data: bytes | None) -> str | None:
    return None if data is None else digest(data)


def start_worker(
    cluster: Cluster,
    jobs: ClusterJobs,
    settings: Settings,
    load: Callable[[str], SavedWorkflow],
    directory_of: Callable[[str], Path | None],
    discard: Callable[[JobRecord], None],
    loop: asyncio.AbstractEventLoop,
    checks: ReadinessChecks | None = None,
) -> ClusterWorker | None:
    """The worker loop and its lease thread, unless this instance is an api one (it never executes).

    With `checks`, the worker hands back the jobs it cannot run and its heartbeat names the endpoints it is
    not ready for (cluster/fitness.py)."""
    if settings.cluster_role == "api":
        return None
    if checks is not None:
        judge = checks
        cluster.unready = lambda: unready(cluster.store.load_all()[0], judge, jobs.digest)
    holder: list[ClusterWorker] = []

    def lost(job_id: str, attempt: int) -> None:  # from the lease thread
        loop.call_soon_threadsafe(holder[0].lost, job_id, attempt)

    lease = Lease(settings.cluster_url, cluster.instance, settings.cluster_lease / 3, jobs.db.renew_script, lost)
    worker = ClusterWorker(
        jobs,
        lease,
        load,
        directory_of,
        discard,
        lease_seconds=settings.cluster_lease,
        attempts=settings.cluster_attempts,
        output_cap=settings.cluster_output_max_bytes,
        checks=checks,
    )
    holder.append(worker)
    cluster.running = worker.heartbeat

    async def close() -> None:
        await asyncio.to_thread(lease.stop)
        await jobs.cluster_hub.stop()

    cluster.adopt(loop.create_task(worker.run_forever()), close)
    return worker
