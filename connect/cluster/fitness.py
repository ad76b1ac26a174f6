"""Which workers can run an endpoint: their heartbeats' reports, and the verdicts built on them (issue 15).

    report = unready(workflows, checks, digest)        # a worker's heartbeat: {"name": {"hash", "missing", "more"}}
    refusal(name, version, prompt, members)            # the accepting instance: EndpointNotReady or None
    still_missing(item, prompt)                        # does a reported item concern this run's prompt?

Models are not copied between boxes, so a box that lacks an endpoint's node classes or files cannot run it.
A worker publishes only the endpoints it is NOT ready for (most are ready: the heartbeat stays small), each
with the first characters of its file's sha256 (the version it judged) and at most ``KEPT_MISSING`` items.
The accepting instance refuses a run only when every live worker reports that very version not ready and
the run's own prompt still names what each one lacks (a caller's value or bypass may stand in for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import EndpointNotReady
from ..run.ready import ReadinessChecks
from ..workflow.endpoint import Prompt
from ..workflow.keepalive import PREFIX as KEEPALIVE
from ..workflow.readiness import Readiness
from ..workflow.store import SavedWorkflow

WORKER_ROLES = ("worker", "both")
HASH_CHARS = 16  # of the sha256 hex: enough to tell versions apart, short in every heartbeat
KEPT_MISSING = 5  # items per endpoint in a heartbeat; "more" counts the rest


def unready(workflows: Iterable[SavedWorkflow], checks: ReadinessChecks, digest: Callable[[str], str | None]) -> dict[str, Any]:
    """The endpoints this box cannot run as saved (reads folders: call it off the event loop)."""
    report: dict[str, Any] = {}
    for saved in workflows:
        verdict = checks.of(saved)
        if verdict.ready:
            continue
        version = digest(saved.name)
        report[saved.name] = {
            "hash": None if version is None else version[:HASH_CHARS],
            "missing": [m.body() for m in verdict.missing[:KEPT_MISSING]],
            "more": max(0, len(verdict.missing) - KEPT_MISSING),
        }
    return report


def live_workers(members: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Members that take jobs (their heartbeat is there: they are alive)."""
    return [m for m in members if m.get("role") in WORKER_ROLES]


def still_missing(item: dict[str, Any], prompt: Prompt) -> bool:
    """Whether this run's prompt still names what a worker reported missing for the saved endpoint."""
    node = prompt.get(str(item.get("node_id")))
    if node is None or node.get("class_type") != item.get("class_type"):
        return False  # bypassed, or another node now
    if item.get("kind") == "node_class":
        return True
    return bool((node.get("inputs") or {}).get(str(item.get("input"))) == item.get("value"))


def lacks(report: dict[str, Any] | None, version: str | None, prompt: Prompt) -> list[dict[str, Any]]:
    """What one worker's report says it lacks for this run; [] when it may run it (then it judges it itself)."""
    if report is None or version is None or report.get("hash") != version[:HASH_CHARS]:
        return []  # ready, or it judged another version (a sync on its way): its own check decides
    missing = [item for item in report.get("missing", []) if isinstance(item, dict)]
    found = [item for item in missing if still_missing(item, prompt)]
    if not found or (len(found) < len(missing) and report.get("more")):
        return []  # the caller stands in for what it lacks (for the items it listed, at least)
    return found


def refusal(name: str, version: str | None, prompt: Prompt, members: Iterable[dict[str, Any]]) -> EndpointNotReady | None:
    """409 when live workers exist and none of them can run this run of `name`; None: queue it."""
    workers = live_workers(members)
    if not workers:
        return None  # nobody to ask: the job waits for a worker, as any job does
    missing: list[dict[str, Any]] = []
    for worker in workers:
        lacking = lacks((worker.get("unready") or {}).get(name), version, prompt)
        if not lacking:
            return None
        missing.extend(item for item in lacking if item not in missing)
    ids = sorted(str(w.get("id")) for w in workers)
    return EndpointNotReady(
        f"workflow {name!r} cannot run on any live worker of the cluster ({', '.join(ids)}); not installed there: {_text(missing)}",
        {"name": name, "missing": missing, "workers": ids},
    )


def runnable(prompt: Prompt) -> Prompt:
    """A job's plan without the accepting instance's `!cache` keepalive nodes (its own models, not the job's)."""
    return {node_id: node for node_id, node in prompt.items() if not node_id.startswith(KEEPALIVE)}


def judged(checks: ReadinessChecks, prompt: Prompt, carried: Iterable[str]) -> Readiness:
    """A worker's verdict on a job's plan; input files the job carries (placed before it runs) are not missing."""
    verdict = checks.judge(runnable(prompt))
    brought = set(carried)
    return Readiness(tuple(m for m in verdict.missing if not (m.kind == "input_file" and m.value in brought)))


def _text(missing: list[dict[str, Any]]) -> str:
    first = missing[0] if missing else {}
    what = f"node class {first.get('class_type')!r}" if first.get("kind") == "node_class" else f"{first.get('value')!r}"
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return f"{what} (node {first.get('node_id')}){more}"
