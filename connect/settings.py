"""Server-side configuration, from environment variables prefixed ``CONNECT_``.

CONNECT_RUN_TIMEOUT=600            seconds a run may execute before it is interrupted (504 / failed job); the largest ?timeout=
CONNECT_MAX_FILE_BYTES=52428800    largest file accepted as base64 or from a URL
CONNECT_URL_TIMEOUT=30             seconds to download one URL input
CONNECT_ALLOW_PRIVATE_URLS=false   allow URL inputs on loopback/private/link-local addresses
CONNECT_WORKFLOWS_DIR=             where endpoints are stored (default <user dir>/connect/workflows)
CONNECT_INPUT_TTL=3600             seconds a file a caller sent is kept after it was last sent, unless a queued or running prompt uses it
CONNECT_INPUT_MAX_BYTES=10737418240  most bytes of sent files kept in <input>/connect (the oldest unused go first)
CONNECT_INPUT_SWEEP=60             seconds between two sweeps of <input>/connect

Jobs (README "Jobs"):

CONNECT_SYNC_WAIT=100              seconds a synchronous call waits before it answers 202 with its job (0: always)
CONNECT_CANCEL_ON_DISCONNECT=true  a synchronous caller that hangs up cancels its job (per call: ?cancel_on_disconnect=)
CONNECT_JOBS_STORE=sqlite          where job records live: sqlite (<user dir>/connect/jobs.sqlite3, survives restarts) or memory
CONNECT_JOBS_MAX=1000              job records kept (the oldest finished ones go first)
CONNECT_JOBS_TTL=86400             seconds a finished job's record is kept
CONNECT_JOB_RESULTS_TTL=3600       seconds a finished job's outputs can be fetched
CONNECT_SSE_HEARTBEAT=15           seconds between keep-alive comments on an idle event stream
CONNECT_WEBHOOK_SECRET=            whsec_<base64>: signs webhooks (Standard Webhooks); without it webhooks are refused
CONNECT_WEBHOOK_ATTEMPTS=5         deliveries tried per webhook
CONNECT_WEBHOOK_BACKOFF=1          seconds before the first retry, doubled for each next one
CONNECT_WEBHOOK_TIMEOUT=10         seconds one delivery may take

Outputs (README "Outputs and delivery"):

CONNECT_KEEP_OUTPUTS=false         keep the files of API runs in ComfyUI's output/temp folders after delivery
CONNECT_FILE_URL_TTL=3600          seconds a download link (?output=url) stays valid; its file is deleted after
CONNECT_PUBLIC_URL=                base of download links, e.g. https://comfy.example (default: the request's host)
CONNECT_METADATA=none              what output files embed about their making: none, prompt, workflow or full (per endpoint: its `metadata`)

Exposing the plugin safely (README "Safe to expose"):

CONNECT_API_KEYS=                  keys, comma-separated, each `<key> [run|manage|admin] [workflow ...]`
CONNECT_API_KEYS_FILE=             a file of keys, one `<key> [access] [workflow ...]` per line
CONNECT_PROTECT_ALL=false          require a key on all of ComfyUI's routes too (UI, /prompt, /ws)
CONNECT_CORS_ORIGINS=              origins allowed to call /api/connect from a browser (comma-separated, or *)
CONNECT_MAX_BODY_BYTES=75000000    largest request body on /api/connect
CONNECT_MAX_IMAGE_PIXELS=67108864  largest image (width x height) accepted as a file input
CONNECT_MAX_BATCH=64               largest value a caller may give an exposed `batch_size` input
CONNECT_MAX_QUEUE=256              prompts on ComfyUI's queue before runs are refused with 503
CONNECT_MAX_QUEUE_PER_CLIENT=64    runs one client (API key or address) may have in flight before 429
CONNECT_READY_MAX_QUEUE=           queue depth over which /ready answers 503 (default CONNECT_MAX_QUEUE)
CONNECT_URL_ALLOW_NETWORKS=        private networks URL inputs may reach anyway, e.g. 10.0.0.5/32

Cluster (README "Cluster (preview)"):

CONNECT_CLUSTER_URL=               redis://[:password@]host:port/db (or rediss://): join the cluster on that Redis
CONNECT_CLUSTER_ROLE=both          api (never executes), worker or both: what the heartbeat announces
CONNECT_INSTANCE_ID=               this instance's name in the cluster (default <hostname>:<port>)
CONNECT_CLUSTER_HEARTBEAT=1.5      seconds between two heartbeats; an instance is gone 4 heartbeats after its last
CONNECT_CLUSTER_LEASE=10           seconds a worker's hold on a job lasts without renewal; then another worker takes it
CONNECT_CLUSTER_ATTEMPTS=3         takes of one job before it fails as dead_lettered
CONNECT_CLUSTER_OUTPUT_MAX_BYTES=67108864   a job's output files kept in Redis at most; over it the job fails
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECT_", extra="ignore")

    run_timeout: float = Field(600.0, gt=0)
    max_file_bytes: int = Field(50 * 1024 * 1024, gt=0)
    url_timeout: float = Field(30.0, gt=0)
    allow_private_urls: bool = False
    workflows_dir: Path | None = None
    input_ttl: float = Field(3600.0, gt=0)
    input_max_bytes: int = Field(10 * 1024**3, gt=0)
    input_sweep: float = Field(60.0, gt=0)

    keep_outputs: bool = False
    file_url_ttl: float = Field(3600.0, gt=0)
    public_url: str = ""
    metadata: Literal["none", "prompt", "workflow", "full"] = "none"

    api_keys: str = ""
    api_keys_file: Path | None = None
    protect_all: bool = False
    cors_origins: str = ""
    max_body_bytes: int = Field(75_000_000, gt=0)
    max_image_pixels: int = Field(8192 * 8192, gt=0)
    max_batch: int = Field(64, gt=0)
    max_queue: int = Field(256, gt=0)
    max_queue_per_client: int = Field(64, gt=0)
    ready_max_queue: int | None = Field(None, gt=0)
    url_allow_networks: str = ""

    sync_wait: float = Field(100.0, ge=0)
    cancel_on_disconnect: bool = True
    jobs_store: Literal["sqlite", "memory"] = "sqlite"
    jobs_max: int = Field(1000, gt=0)
    jobs_ttl: float = Field(86400.0, gt=0)
    job_results_ttl: float = Field(3600.0, gt=0)
    sse_heartbeat: float = Field(15.0, gt=0)
    webhook_secret: str = ""
    webhook_attempts: int = Field(5, gt=0, le=20)
    webhook_backoff: float = Field(1.0, gt=0)
    webhook_timeout: float = Field(10.0, gt=0)

    cluster_url: str = Field("", pattern=r"^$|^rediss?://")
    cluster_role: Literal["api", "worker", "both"] = "both"
    instance_id: str = Field("", max_length=128)
    cluster_heartbeat: float = Field(1.5, gt=0, le=60)
    cluster_lease: float = Field(10.0, ge=0.5, le=3600)
    cluster_attempts: int = Field(3, ge=1, le=100)
    cluster_output_max_bytes: int = Field(64 * 1024 * 1024, gt=0)
