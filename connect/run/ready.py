"""Readiness of saved endpoints (workflow/readiness.py), cheap enough to ask before every run.

    checks = ReadinessChecks(comfy.node_spec, self_checked(comfy.validates_itself, comfy.directory_of))
    checks.of(saved)                  # read now: save, describe, list, GET .../ready
    checks.check_run(saved, prompt)   # before anything is queued: EndpointNotReady (409)

A run reuses its endpoint's verdict for up to ``reuse`` seconds (reading definitions lists folders);
a verdict that is not ready is never reused to refuse: the run's own prompt is judged now, so a model
file copied in is taken at once, and a caller's value or bypass may stand in for what is missing. A
file removed within that second is still caught by ComfyUI's own validation (422 ``prompt_invalid``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from ..comfy.nodespec import SpecLookup
from ..errors import BypassError, EndpointNotReady
from ..workflow.bypass import apply_bypass
from ..workflow.endpoint import Endpoint, Prompt
from ..workflow.readiness import Accepts, Kind, Readiness, readiness
from ..workflow.store import SavedWorkflow

# How long a run reuses its endpoint's verdict before reading ComfyUI's lists again.
REUSE_SECONDS = 1.0
# ComfyUI's annotated file names name their folder by type: "photo.png [output]".
_ANNOTATED = re.compile(r"(.*) \[(input|output|temp)\]")
# (class_type, input name) -> whether the node checks that input itself (ComfyUI then skips its list check)
SelfValidating = Callable[[str, str], bool]
Folders = Callable[[str], Path | None]


def _never(class_type: str, input_name: str, value: str, kind: Kind) -> bool:
    return False


class ReadinessChecks:
    def __init__(
        self,
        specs: SpecLookup,
        accepts: Accepts = _never,
        *,
        replaced: Callable[[Prompt], Prompt] = lambda prompt: prompt,
        clock: Callable[[], float] = time.monotonic,
        reuse: float = REUSE_SECONDS,
    ) -> None:
        self._specs = specs
        self._accepts = accepts
        self._replaced = replaced  # a renamed class runs under its new name (ComfyUI 0.33.0): judged so
        self._clock = clock
        self._reuse = reuse
        self._kept: dict[str, tuple[Endpoint, float, Readiness]] = {}
        # Whether a run is refused because of this box. In a cluster another box runs the job: the
        # accepting instance asks the workers' reports instead (cluster/fitness.py), the worker judges the plan.
        self.refuse_here = True

    def of(self, saved: SavedWorkflow) -> Readiness:
        """The endpoint as saved, judged now (reads node definitions, so folders: off the event loop)."""
        verdict = self.judge(default_prompt(saved.endpoint, self._specs))
        self._kept[saved.name] = (saved.endpoint, self._clock(), verdict)
        return verdict

    def judge(self, prompt: Prompt) -> Readiness:
        return readiness(self._replaced(prompt), self._specs, self._accepts)

    def check_run(self, saved: SavedWorkflow, prompt: Prompt) -> None:
        """Refuse (409) a run whose `prompt` (the caller's values patched in, bypasses applied) cannot run here."""
        if not self.refuse_here:
            return
        verdict = self.recent(saved)
        if verdict.ready:
            return
        # Not ready as saved: judge this run's own prompt now (the caller's values and bypasses, files added since).
        run = self.judge(prompt)
        if not run.ready:
            raise not_ready(saved.name, run)

    def recent(self, saved: SavedWorkflow) -> Readiness:
        """The endpoint's verdict, reused for up to `reuse` seconds, else judged now."""
        return self._kept_verdict(saved) or self.of(saved)

    def _kept_verdict(self, saved: SavedWorkflow) -> Readiness | None:
        kept = self._kept.get(saved.name)
        if kept is None or kept[0] is not saved.endpoint or self._clock() - kept[1] > self._reuse:
            return None
        return kept[2]

    def clear(self) -> None:
        self._kept.clear()


def not_ready(name: str, verdict: Readiness) -> EndpointNotReady:
    return EndpointNotReady(
        f"workflow {name!r} cannot run on this ComfyUI; {verdict.summary()}",
        {"name": name, "missing": [m.body() for m in verdict.missing]},
    )


def default_prompt(endpoint: Endpoint, specs: SpecLookup) -> Prompt:
    """What a run without a body queues: the saved prompt without its `!bypass` nodes."""
    if not endpoint.bypassed:
        return endpoint.prompt
    try:
        return apply_bypass(endpoint.prompt, endpoint.bypassed, specs)
    except BypassError:  # a run refuses it (400) before readiness is asked; judge what is saved
        return endpoint.prompt


def self_checked(validates_itself: SelfValidating, folders: Folders) -> Accepts:
    """What ComfyUI does with a value outside an input's list: a node that checks the input itself decides.

    For an upload input (LoadImage: the file exists, also in a subfolder) that is whether the file is
    there; for any other the node's own check is left to ComfyUI's validation."""

    def accepts(class_type: str, input_name: str, value: str, kind: Kind) -> bool:
        if not validates_itself(class_type, input_name):
            return False
        return kind != "input_file" or input_file_exists(folders, value)

    return accepts


def input_file_exists(folders: Folders, name: str) -> bool:
    """Whether `name` (as a loader input holds it: "photo.png", "connect/x.png", "photo.png [output]") is a file there."""
    found = _ANNOTATED.fullmatch(name)
    folder = folders(found.group(2) if found else "input")
    relative = os.path.normpath(found.group(1) if found else name)
    if folder is None or os.path.isabs(relative) or relative == ".." or relative.startswith(".." + os.sep):
        return False
    return (folder / relative).is_file()
