"""Versions of an endpoint over HTTP, and the guard a save passes first.

    GET  /api/connect/workflows/<name>/versions                    newest first, the current one marked
    POST /api/connect/workflows/<name>/versions/<id>/restore       make it current again (a save: "changes")
    POST /api/connect/workflows/<name>?version=<id or prefix>      run that version (its prompt, its contract)
    GET  /api/connect/workflows/<name>?version=<id or prefix>      describe it

A save (PUT, restore) answers what it changes for callers (contract/changes.py); with
``CONNECT_REFUSE_BREAKING`` a breaking one is refused (409 ``breaking_change``) unless ``?force=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from ..contract.changes import Changes, compare
from ..errors import BadRequest, BreakingChange, ConnectError, NotFound, WorkflowCorrupt
from ..workflow.endpoint import Endpoint, parse_endpoint
from ..workflow.store import Metadata, SavedWorkflow, check_metadata
from ..workflow.versions import Version, VersionStore
from ..workflow.versions import now as version_time
from .state import Connect

Describe = Callable[[SavedWorkflow], Awaitable[dict[str, Any]]]
_TRUE, _FALSE = ("1", "true", "yes", "on", ""), ("0", "false", "no", "off")


def history(connect: Connect) -> VersionStore:
    if connect.versions is None:
        raise NotFound("this server keeps no versions of workflows")
    return connect.versions


def pinned(connect: Connect, saved: SavedWorkflow, ref: str) -> SavedWorkflow:
    """`saved` as it was at version `ref`: its prompt, UI workflow and settings (what ?version= runs and shows)."""
    version = history(connect).resolve(saved.name, ref)
    if version.id == saved.version:
        return saved
    endpoint = parse_endpoint(version.prompt)
    metadata = _metadata(version)
    return replace(
        saved,
        endpoint=endpoint,
        workflow=version.workflow,
        saved_at=version.saved_at,
        timeout=version.timeout,
        metadata=metadata,
        version=version.id,
    )


def _metadata(version: Version) -> Metadata | None:
    try:
        return check_metadata(version.metadata)
    except ValueError:  # a record edited by hand: the server's setting applies
        return None


def version_query(request: web.Request) -> str | None:
    ref = request.query.get("version")
    if ref is not None and not ref:
        raise BadRequest("query parameter 'version' is empty: give a version id or a prefix of one", {"path": "version"})
    return ref


def changes_against(connect: Connect, name: str, endpoint: Endpoint) -> tuple[Changes, SavedWorkflow | None]:
    """What saving `endpoint` as `name` changes against the current one (none for a new endpoint); reads files."""
    previous = None
    with contextlib.suppress(ConnectError):  # absent, or a file that no longer loads: nothing to compare with
        previous = connect.store.load(name)
    if previous is None:
        return Changes(), None
    return compare(previous.endpoint, endpoint, connect.preparer.spec), previous


def guard(request: web.Request, connect: Connect, name: str, changes: Changes) -> None:
    """With CONNECT_REFUSE_BREAKING, a breaking save needs ?force=true."""
    force = _force(request)  # checked on every save: a bad value is an error even when nothing breaks
    if not changes.breaking or not connect.settings.refuse_breaking or force:
        return
    raise BreakingChange(
        f"this save would break callers of {name!r} ({'; '.join(changes.breaking)}); send it again with ?force=true to save it anyway",
        {"name": name, **changes.as_dict()},
    )


def _force(request: web.Request) -> bool:
    given = request.query.getall("force", [])
    if len(given) > 1:
        raise BadRequest("query parameter 'force' is given more than once", {"path": "force"})
    raw = given[0].lower() if given else "false"
    if raw not in _TRUE + _FALSE:
        raise BadRequest(f"query parameter 'force' must be true or false, not {raw!r}", {"path": "force"})
    return raw in _TRUE


async def list_versions(request: web.Request, connect: Connect) -> web.StreamResponse:
    name = request.match_info["name"]
    connect.store.check(name)
    current = await asyncio.to_thread(_current_version, connect, name)  # first: reading a file edited by hand versions it
    versions = await asyncio.to_thread(history(connect).list, name)
    if not versions and current is None:
        raise NotFound(f"no workflow named {name!r}, and no versions of one", {"name": name})
    return web.json_response({"name": name, "current": current, "versions": [v.summary(current) for v in versions]})


def _current_version(connect: Connect, name: str) -> str | None:
    try:
        return connect.store.load(name).version
    except (NotFound, WorkflowCorrupt):
        return None  # deleted (its versions stay, so it can be restored), or a file that cannot be used: none is current


async def restore_version(request: web.Request, connect: Connect, describe: Describe) -> web.StreamResponse:
    """`describe`: how the save answer shows the endpoint (routes.py), so restore answers as PUT does."""
    name = request.match_info["name"]
    connect.store.check(name)
    version = await asyncio.to_thread(history(connect).resolve, name, request.match_info["version"])
    endpoint = parse_endpoint(version.prompt)
    changes, previous = await asyncio.to_thread(changes_against, connect, name, endpoint)
    guard(request, connect, name, changes)
    save = connect.store.save
    saved, created = await asyncio.to_thread(save, name, version.prompt, version.workflow, version.timeout, _metadata(version))
    # The restored version keeps where it came from (the store calls a save with a UI workflow "ui").
    await asyncio.to_thread(history(connect).record, name, replace(version, saved_at=version_time()))
    connect.workflows_changed()
    body = {
        **await describe(saved),
        "changes": changes.as_dict(),
        "restored": version.id,
        "previous": previous.version if previous else None,
    }
    return web.json_response(body, status=201 if created else 200)


def version_summary(connect: Connect, name: str, vid: str | None) -> Version | None:
    """The version record of `vid`, if kept (for describe: its source and time)."""
    if vid is None or connect.versions is None:
        return None
    with contextlib.suppress(ConnectError):
        return connect.versions.resolve(name, vid)
    return None
