"""Turn a caller's payload into the prompt ComfyUI runs.

    prompt, outputs = await preparer.prepare(saved, payload)

Checks (batch cap, paths, the endpoint's contract, its readiness on this box), patches the caller's values in, applies
``!bypass``, adds the ``!cache`` keepalive nodes and makes each output node run again (with kept
outputs: whenever what its files may embed differs). Each `#` output's node ids in the final prompt come back beside it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..comfy.nodespec import NodeSpec
from ..contract.pathguard import check_path_inputs
from ..contract.validation import BodyChecks
from ..io.embed import embedding
from ..io.inputs import InputFiles, Upload
from ..io.loaders import LoaderKind, loader_kind
from ..io.outputs import uncached_outputs
from ..workflow.bypass import apply_bypass
from ..workflow.endpoint import Endpoint, Prompt
from ..workflow.keepalive import keepalive_nodes
from ..workflow.store import Metadata, SavedWorkflow, Workflows
from .limits import check_batch
from .payload import patch_prompt
from .ready import ReadinessChecks

# Files edited on disk change the `!cache` set; re-read it at most this often.
_KEEPALIVE_TTL = 1.0
SpecSource = Callable[[str], NodeSpec | None]
# (class_type, input name) -> whether the node checks that value itself, so takes a file in a subfolder
SelfValidating = Callable[[str, str], bool]


class Preparer:
    def __init__(
        self,
        node_spec: SpecSource,
        store: Workflows,
        files: InputFiles,
        checks: BodyChecks,
        *,
        max_batch: int,
        keep_outputs: bool,
        self_validating: SelfValidating = lambda class_type, input_name: False,
        metadata: Metadata = "none",
        readiness: ReadinessChecks | None = None,
    ) -> None:
        self.readiness = readiness or ReadinessChecks(node_spec)
        self._self_validating = self_validating
        self._metadata = metadata
        self._node_spec = node_spec
        self._store = store
        self._files = files
        self._checks = checks
        self._max_batch = max_batch
        self._keep_outputs = keep_outputs
        self._specs: dict[str, NodeSpec | None] = {}
        self._keepalive: tuple[float, Prompt] = (0.0, {})

    def spec(self, class_type: str) -> NodeSpec | None:
        # Types never change while ComfyUI runs; combo choices do, so the document reads them live.
        if class_type not in self._specs:
            self._specs[class_type] = self._node_spec(class_type)
        return self._specs[class_type]

    def workflows_changed(self) -> None:
        self._keepalive = (0.0, {})
        self._checks.clear()
        self.readiness.clear()

    def keepalive(self) -> Prompt:
        stamp, nodes = self._keepalive
        now = time.monotonic()
        if now - stamp > _KEEPALIVE_TTL:
            good, _ = self._store.load_all()
            nodes = keepalive_nodes(good, self.spec)
            self._keepalive = (now, nodes)
        return nodes

    async def prepare(
        self, saved: SavedWorkflow, payload: Any, parts: Mapping[str, Upload] | None = None
    ) -> tuple[Prompt, dict[str, tuple[str, ...]]]:
        """The prompt to queue for this payload, and each `#` output's nodes in it; or the error why not.

        `parts` are the files of a multipart request (http/multipart.py)."""
        endpoint = saved.endpoint
        check_batch(payload, self._max_batch)
        check_path_inputs(endpoint, payload, self.spec)
        self._checks.validate(saved.name, endpoint, payload)
        patched = await patch_prompt(endpoint, payload, self._file_resolver(endpoint, parts))
        prompt = apply_bypass(patched.prompt, patched.bypass, self.spec)
        self.readiness.check_run(saved, prompt)  # a class or file this box lacks: 409 now, not ComfyUI's 422
        output_nodes = tuple(node_id for ids in endpoint.outputs.values() for node_id in ids)
        prompt = uncached_outputs({**self.keepalive(), **prompt}, output_nodes, self.spec, self._run_value(saved, prompt))
        # ComfyUI writes into the prompt it runs (a node's "is_changed", inputs cast to their type):
        # nodes the caller did not change are still the stored endpoint's own objects, so hand it copies.
        prompt = {node_id: {**node, "inputs": dict(node.get("inputs", {}))} for node_id, node in prompt.items()}
        outputs = {name: tuple(n for n in ids if n in prompt) for name, ids in endpoint.outputs.items()}
        return prompt, outputs

    def _run_value(self, saved: SavedWorkflow, prompt: Prompt) -> str:
        """The `connect_run` input of this run's output nodes (see outputs.uncached_outputs).

        Kept outputs may be handed back from ComfyUI's cache, but only a file made with the very
        metadata this run may embed: ComfyUI's cache key ignores what a node embeds, so it is put in.
        """
        if not self._keep_outputs:
            return uuid.uuid4().hex
        embedded = embedding(saved.metadata or self._metadata, prompt, saved.endpoint.prompt, saved.workflow)
        return hashlib.sha256(json.dumps(embedded, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def _file_resolver(self, endpoint: Endpoint, parts: Mapping[str, Upload] | None) -> Callable[[str, Mapping[str, Any]], Awaitable[str]]:
        """Store each file input, checked against what its loader node expects (image, video, audio)."""
        kinds: dict[str, LoaderKind | None] = {}
        listed: set[str] = set()  # inputs whose loader takes only the files its list shows
        for group in endpoint.groups.values():
            for input_name, node_ids in group.targets.items():
                classes = [endpoint.prompt[node_id]["class_type"] for node_id in node_ids]
                specs = [self.spec(class_type) for class_type in classes]
                found = [loader_kind(s.input(input_name)) for s in specs if s is not None]
                kinds[f"{group.name}.{input_name}"] = next((k for k in found if k), None)
                if not all(self._self_validating(class_type, input_name) for class_type in classes):
                    listed.add(f"{group.name}.{input_name}")

        def resolve(path: str, spec: Mapping[str, Any]) -> Awaitable[str]:
            return self._files.resolve(path, spec, kind=kinds.get(path), parts=parts, listed=path in listed)

        return resolve
