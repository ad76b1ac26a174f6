"""The HTTP side of jobs: how a run call is answered, and the ``/api/connect/jobs`` routes.

    POST   /api/connect/workflows/<name>   ?async=1  ?timeout=<s>  ?webhook=<url>  ?cancel_on_disconnect=0|1
                                           Prefer: respond-async, wait=<s>     Idempotency-Key: <key>
    GET    /api/connect/jobs               ?workflow=<name>  ?status=<status>  ?limit=<n>
    GET    /api/connect/jobs/<id>          the job; its outputs once it succeeded
    DELETE /api/connect/jobs/<id>          cancel it, and forget it once it has ended
    GET    /api/connect/jobs/<id>/events   its events as Server-Sent Events (see events.py)

A run call waits for its job up to the sync wait budget (``CONNECT_SYNC_WAIT``, or less with
``Prefer: wait=<s>``) and answers as it always did (200 with the outputs, or the job's error); past
the budget, or at once when asked to run asynchronously, it answers 202 with the job and its
``Location``. Handlers raise ConnectError; the errors middleware turns them into the one error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..errors import BadRequest, NotFound
from ..io.delivery import Choice
from ..io.render import encode_json
from ..run.jobs import STATUSES, SUCCEEDED, JobQuery, JobRecord
from ..run.runner import JOBS_PATH, RunRequest
from ..workflow.store import SavedWorkflow
from .keys import KEY, SLOT
from .middleware.errors import known_error
from .state import Connect

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_MAX_IDEMPOTENCY_KEY = 255
_MAX_LIST = 200
_CANCEL_WAIT = 10.0  # seconds DELETE waits for ComfyUI to confirm the stop before answering 202


@dataclass(frozen=True)
class RunOptions:
    respond_async: bool
    wait: float
    timeout: float | None
    webhook: str | None
    idempotency_key: str | None
    cancel_on_disconnect: bool


def run_options(request: web.Request, connect: Connect) -> RunOptions:
    prefer = _preferences(request.headers.getall("Prefer", []))
    wait = connect.settings.sync_wait
    if "wait" in prefer:
        wait = min(wait, _number(prefer["wait"], "Prefer: wait", minimum=0) or 0.0)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"'Idempotency-Key' must be 1-{_MAX_IDEMPOTENCY_KEY} characters", {"path": "Idempotency-Key"})
    webhook = request.query.get("webhook")
    # A caller that sends an Idempotency-Key means to come back after a dropped connection.
    cancel = _flag(request, "cancel_on_disconnect", connect.settings.cancel_on_disconnect and key is None)
    return RunOptions(
        respond_async=_flag(request, "async", False) or "respond-async" in prefer,
        wait=wait,
        timeout=_timeout(request, connect.settings.run_timeout),
        webhook=_webhook(connect, webhook),
        idempotency_key=key,
        cancel_on_disconnect=cancel,
    )


async def run_job(
    request: web.Request,
    connect: Connect,
    saved: SavedWorkflow,
    payload: Any,
    started: float | None = None,
    *,
    choice: Choice | None = None,
    parts: Any = None,
) -> web.StreamResponse:
    started = time.perf_counter() if started is None else started
    options = run_options(request, connect)
    key = KEY.get(request)
    chosen = choice or connect.delivery.choose(request)  # kept on the job: GET of it and its webhook render the same
    run = RunRequest(
        saved,
        payload,
        connect.run_timeout(saved, options.timeout),
        key.id if key else None,
        options.webhook,
        options.idempotency_key,
        chosen,
        SLOT.get(request),
        parts,
    )
    job, replayed = await connect.jobs.start(run)
    headers = {"X-Connect-Job-Id": job.id, "X-Connect-Prompt-Id": job.prompt_id}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if options.respond_async:
        return _accepted(connect, job, {**headers, "Preference-Applied": "respond-async"})
    try:
        current = await connect.jobs.wait(job.id, options.wait)
    except asyncio.CancelledError:  # the client hung up (middleware/disconnect.py) or the server stops
        if options.cancel_on_disconnect:
            await connect.jobs.cancel(job, "client_disconnected")
        raise
    if current is not None and current.instance:  # in a cluster: the worker that ran it
        headers["X-Connect-Instance"] = current.instance
    if current is None or not current.finished:
        return _accepted(connect, current or job, headers)
    if current.status != SUCCEEDED:
        error = current.error or {}
        raise known_error(
            current.error_status or 500, error.get("type", "internal_error"), error.get("message", ""), error.get("details"), headers
        )
    if current.result is None or current.output_nodes is None or current.result_expired:
        raise NotFound(f"the outputs of job {current.id} are no longer kept (CONNECT_JOB_RESULTS_TTL)", {"job_id": current.id})
    # Delivered once, the files go (CONNECT_KEEP_OUTPUTS keeps them); a call with an Idempotency-Key may be
    # replayed, so its files stay until the job's results expire.
    consume = current.idempotency_scope is None
    response = await connect.delivery.render(current.result, current.output_nodes, chosen, request, consume=consume)
    if consume:
        await connect.jobs.delivered(current)
    response.headers.update(headers)
    response.headers["Server-Timing"] = server_timing(time.perf_counter() - started, _comfyui_seconds(current))
    return response


def server_timing(total: float, waited: float) -> str:
    """``connect;dur=0.41, comfyui;dur=3.20`` (ms): the plugin's own share of the call, and ComfyUI's
    (queue, execution and its worker's hand-offs), so callers and the benchmark can tell them apart."""
    return f"connect;dur={max(total - waited, 0.0) * 1000:.2f}, comfyui;dur={waited * 1000:.2f}"


def _comfyui_seconds(job: JobRecord) -> float:
    return max((job.finished_at or job.created_at) - job.created_at, 0.0)


def _accepted(connect: Connect, job: JobRecord, headers: dict[str, str]) -> web.Response:
    location = {"Location": f"{JOBS_PATH}/{job.id}"}
    return web.json_response({**connect.jobs.summary(job), "outputs": None}, status=202, headers={**headers, **location})


# -- /api/connect/jobs -------------------------------------------------------------------------------
async def list_jobs(request: web.Request, connect: Connect) -> web.StreamResponse:
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"query parameter 'status' must be one of {', '.join(STATUSES)}, not {status!r}", {"path": "status"})
    limit = int(_number(request.query.get("limit", "50"), "limit", minimum=1, maximum=_MAX_LIST, integer=True) or 50)
    key = KEY.get(request)
    owner = key.id if key is not None and key.level != "admin" else None
    jobs = await connect.jobs.select(JobQuery(request.query.get("workflow"), status, owner, limit))
    return web.json_response({"jobs": [{**connect.jobs.summary(job), "outputs": None} for job in jobs]})


async def get_job(request: web.Request, connect: Connect) -> web.StreamResponse:
    job = await _find(request, connect)
    choice = connect.delivery.choose_again(request, job.delivery)  # ?output= may ask for another form
    view = {**connect.jobs.summary(job), "outputs": None}
    if job.status == SUCCEEDED and job.outputs is not None:
        view["outputs"] = await connect.render(job, choice)
        view["result_expired"] = view["outputs"] is None  # None: removed from ComfyUI's output folder since
    body = encode_json(view)  # base64 as bytes (render.py)
    return web.Response(body=body, content_type="application/json", headers={"X-Connect-Prompt-Id": job.prompt_id})


async def cancel_job(request: web.Request, connect: Connect) -> web.StreamResponse:
    job = await _find(request, connect)
    await connect.jobs.delete(job)
    if not job.finished:
        await connect.jobs.wait(job.id, _CANCEL_WAIT)
    return web.json_response({**connect.jobs.summary(job), "outputs": None}, status=200 if job.finished else 202)


async def job_events(request: web.Request, connect: Connect) -> web.StreamResponse:
    job = await _find(request, connect)
    resume = [_number(raw, name, minimum=0, integer=True) for name, raw in _resume_points(request)]
    start = int(resume[0] or 0) if resume else 0
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):  # the reader went away
        if connect.jobs.hub.known(job.id):
            async for chunk in connect.jobs.hub.stream(job.id, start, connect.settings.sse_heartbeat):
                await response.write(chunk.encode())
        else:  # a record kept without its events (another process's job): its state is all there is
            await response.write(f"event: {job.status}\ndata: {json.dumps(connect.jobs.summary(job))}\n\n".encode())
        await response.write_eof()
    return response


def _resume_points(request: web.Request) -> list[tuple[str, str]]:
    """Last-Event-ID (what a reconnecting EventSource sends) first, then ?after=; both are checked."""
    given = [("Last-Event-ID", request.headers.get("Last-Event-ID")), ("after", request.query.get("after"))]
    return [(name, raw) for name, raw in given if raw is not None]


async def _find(request: web.Request, connect: Connect) -> JobRecord:
    job_id = request.match_info["job_id"]
    job = await connect.jobs.get(job_id)
    key = KEY.get(request)
    # Another key's jobs are not shown, nor is it told they exist.
    if job is None or (key is not None and key.level != "admin" and job.owner != key.id):
        raise NotFound(f"no job {job_id!r} (finished jobs are kept for a while, then forgotten)", {"job_id": job_id})
    return job


# -- parameters ----------------------------------------------------------------------------------------
def _preferences(headers: list[str]) -> dict[str, str]:
    """RFC 7240: 'respond-async, wait=10' -> {"respond-async": "", "wait": "10"}."""
    found: dict[str, str] = {}
    for header in headers:
        for item in header.split(","):
            name, _, value = item.split(";", 1)[0].strip().partition("=")
            if name:
                found.setdefault(name.strip().lower(), value.strip().strip('"'))
    return found


def _flag(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE or raw == "":
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"query parameter {name!r} must be 1 or 0 (true or false), not {raw!r}", {"path": name})


def _number(raw: str, name: str, *, minimum: float, maximum: float = math.inf, integer: bool = False) -> float | None:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum or not math.isfinite(value):
        kind = "an integer" if integer else "a number"
        bound = f" in [{minimum:g}, {maximum:g}]" if maximum != math.inf else f" >= {minimum:g}"
        raise BadRequest(f"{name!r} must be {kind}{bound}, not {raw!r}", {"path": name})
    return value


def _webhook(connect: Connect, url: str | None) -> str | None:
    if url is None:
        return None
    try:
        return connect.jobs.webhooks.check_url(url)
    except ValueError as exc:  # a host the address parser chokes on (e.g. a NUL in it)
        raise BadRequest(f"'webhook' is not a usable URL: {exc}", {"path": "webhook"}) from None


def _timeout(request: web.Request, limit: float) -> float | None:
    raw = request.query.get("timeout")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= limit:
        raise BadRequest(f"query parameter 'timeout' must be a number of seconds in (0, {limit:g}], not {raw!r}", {"path": "timeout"})
    return value
