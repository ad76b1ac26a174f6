"""The one module that touches ComfyUI's internals (0.3.75's server, execution, nodes, folder_paths).

Everything ComfyUI-specific the plugin relies on is here, checked once at setup so that a ComfyUI
whose internals changed fails loudly at start instead of silently doing nothing.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .nodespec import NodeSpec

log = logging.getLogger("comfyui-connect")

# (prompt_id, status: {"status_str", "completed", "messages"}, history_result: {"outputs", "meta"})
CompletionListener = Callable[[str, dict[str, Any], dict[str, Any]], None]
# (event, data): a message ComfyUI sent about one of the plugin's prompts, or a queue "status" change
EventListener = Callable[[str, dict[str, Any]], None]
# Every prompt the plugin queues carries a client id with this prefix; ComfyUI addresses its
# per-prompt messages (executing, progress, executed...) to that id.
CLIENT_PREFIX = "connect-"
# extra_data key of the plugin's prompts: {"prompt": <what outputs may embed as their prompt, or None>}.
# See `install_embed_hook`.
EMBED_KEY = "connect_embed"


@dataclass(frozen=True)
class Validation:
    ok: bool
    error: dict[str, Any] | None
    outputs: list[str]
    node_errors: dict[str, Any]


class ComfyAdapter:
    def __init__(self, server: Any) -> None:
        import execution
        import folder_paths
        import nodes

        self.server = server
        self._execution = execution
        self._folder_paths = folder_paths
        self._nodes = nodes
        self._listeners: list[CompletionListener] = []
        self._event_listeners: list[EventListener] = []
        self._check_internals()

    @classmethod
    def from_running_server(cls) -> ComfyAdapter:
        from server import PromptServer

        if getattr(PromptServer, "instance", None) is None:
            raise RuntimeError("ComfyUI-Connect must be imported by a running ComfyUI (PromptServer.instance is not set)")
        return cls(PromptServer.instance)

    def _check_internals(self) -> None:
        queue = self.server.prompt_queue
        params = list(inspect.signature(queue.task_done).parameters)
        if params[:3] != ["item_id", "history_result", "status"]:
            raise RuntimeError(f"ComfyUI-Connect: unsupported PromptQueue.task_done signature {params}")
        if list(inspect.signature(self._execution.validate_prompt).parameters)[:2] != ["prompt_id", "prompt"]:
            raise RuntimeError("ComfyUI-Connect: unsupported execution.validate_prompt signature")
        if list(inspect.signature(self.server.send_sync).parameters)[:3] != ["event", "data", "sid"]:
            raise RuntimeError("ComfyUI-Connect: unsupported PromptServer.send_sync signature")

    def hide_internals_from_outputs(self) -> None:
        """Outputs of the plugin's prompts embed the prompt in their EMBED_KEY, never the queued one."""
        install_embed_hook(self._execution)

    # -- input files: who uses them ------------------------------------------------------------
    def queued_prompts(self) -> list[dict[str, Any]]:
        """The prompts waiting or running on ComfyUI's queue, from every source (their input files are in use)."""
        queue = self.server.prompt_queue
        with queue.mutex:
            items = [*queue.queue, *queue.currently_running.values()]
        return [item[2] for item in items if isinstance(item[2], dict)]

    def validates_itself(self, class_type: str, input_name: str) -> bool:
        """Whether the node class checks this input's value itself (LoadImage's VALIDATE_INPUTS: the file exists).

        Then ComfyUI skips its "value in the list" check (execution.validate_inputs) and the node takes a
        file in a subfolder of the input folder; otherwise only what its list shows.
        """
        from comfy_api.internal import _ComfyNodeInternal, first_real_override

        cls = self._nodes.NODE_CLASS_MAPPINGS.get(class_type)
        if cls is None:
            return False
        if issubclass(cls, _ComfyNodeInternal):
            function = first_real_override(cls, "validate_inputs")
        else:
            function = getattr(cls, "VALIDATE_INPUTS", None)
        if function is None:
            return False
        spec = inspect.getfullargspec(function)
        return input_name in spec.args or spec.varkw is not None

    # -- routes and paths -------------------------------------------------------------------
    @property
    def routes(self) -> Any:
        return self.server.routes

    @property
    def loop(self) -> Any:
        return self.server.loop

    def user_dir(self) -> Path:
        return Path(self._folder_paths.get_user_directory())

    def input_dir(self) -> Path:
        return Path(self._folder_paths.get_input_directory())

    def directory_of(self, kind: str) -> Path | None:
        found = self._folder_paths.get_directory_by_type(kind)
        return Path(found) if found else None

    def set_app_state(self, key: Any, value: Any) -> None:
        """Keep a value on ComfyUI's aiohttp app under a typed ``web.AppKey``, for handlers to read."""
        self.server.app[key] = value

    def add_middleware(self, middleware: Any) -> None:
        """Put an aiohttp middleware in front of every route of ComfyUI (and of its sub-apps)."""
        app = self.server.app
        if app.frozen:
            raise RuntimeError("ComfyUI-Connect: ComfyUI's web app already started; middlewares can only be added at setup")
        # First in the list is outermost: it sees each request before ComfyUI's own middlewares.
        app.middlewares.insert(0, middleware)

    # -- node definitions ---------------------------------------------------------------------
    def node_info(self, class_type: str) -> dict[str, Any] | None:
        """The same dictionary ComfyUI serves for this class at /object_info."""
        from comfy_api.internal import _ComfyNodeInternal

        cls = self._nodes.NODE_CLASS_MAPPINGS.get(class_type)
        if cls is None:
            return None
        if issubclass(cls, _ComfyNodeInternal):
            return dict(cls.GET_NODE_INFO_V1())
        declared = cls.INPUT_TYPES()
        return {
            "input": declared,
            "input_order": {key: list(value) for key, value in declared.items()},
            "output": list(getattr(cls, "RETURN_TYPES", ())),
            "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
            "display_name": self._nodes.NODE_DISPLAY_NAME_MAPPINGS.get(class_type, class_type),
            "description": getattr(cls, "DESCRIPTION", ""),
        }

    def node_spec(self, class_type: str) -> NodeSpec | None:
        info = self.node_info(class_type)
        return None if info is None else NodeSpec.from_object_info(class_type, info)

    # -- the queue ------------------------------------------------------------------------------
    async def validate(self, prompt_id: str, prompt: dict[str, Any]) -> Validation:
        ok, error, outputs, node_errors = await self._execution.validate_prompt(prompt_id, prompt, None)
        return Validation(bool(ok), error, list(outputs), dict(node_errors or {}))

    def enqueue(self, prompt_id: str, prompt: dict[str, Any], outputs: list[str], extra_data: dict[str, Any]) -> None:
        number = self.server.number
        self.server.number += 1
        # ComfyUI's POST /prompt stamps create_time too; the metrics measure queue wait from it.
        extra_data = {"create_time": int(time.time() * 1000), **extra_data}
        # Exactly ComfyUI's 6-tuple: anything else kills the worker thread without a word.
        self.server.prompt_queue.put((number, prompt_id, prompt, extra_data, outputs, {}))

    def queue_depth(self) -> int:
        """Prompts waiting or running, from every source (API, UI, other plugins)."""
        return int(self.server.prompt_queue.get_tasks_remaining())

    def prompt_state(self, prompt_id: str) -> str:
        """'queued', 'running', 'done' (in the history) or 'gone' (removed without running)."""
        queue = self.server.prompt_queue
        with queue.mutex:  # one lock: an item moves between these three places only while it is held
            if any(item[1] == prompt_id for item in queue.currently_running.values()):
                return "running"
            if any(item[1] == prompt_id for item in queue.queue):
                return "queued"
            return "done" if prompt_id in queue.history else "gone"

    def worker_alive(self) -> bool:
        """Whether ComfyUI's prompt worker thread (main.prompt_worker) still runs.

        An exception that escapes a prompt (a malformed queue item, a node raising SystemExit) ends
        that thread silently: HTTP keeps answering, but nothing is ever executed again.
        """
        for thread in threading.enumerate():
            target = getattr(thread, "_target", None)
            if getattr(target, "__name__", None) == "prompt_worker" or thread.name.endswith("(prompt_worker)"):
                return thread.is_alive()
        return False

    def cancel(self, prompt_id: str) -> str:
        """Stop this prompt and no other: 'removed' (it was waiting), 'interrupted' (it was running) or 'none'.

        ComfyUI's interrupt is one global flag, so it is only raised while this prompt is the one
        running, checked and raised under the queue's lock: the worker cannot move on to the next
        prompt in between, and it clears the flag when it starts that next prompt.
        """
        queue = self.server.prompt_queue
        with queue.mutex:
            if queue.delete_queue_item(lambda item: item[1] == prompt_id):
                return "removed"
            if any(item[1] == prompt_id for item in queue.currently_running.values()):
                self._nodes.interrupt_processing()
                return "interrupted"
        return "none"

    def queue_positions(self) -> dict[str, int]:
        """Prompt id -> place among the prompts waiting (1: runs next), from every source."""
        queue = self.server.prompt_queue
        with queue.mutex:
            waiting = sorted((item[0], item[1]) for item in queue.queue)
        return {prompt_id: place for place, (_, prompt_id) in enumerate(waiting, 1)}

    def new_prompt_id(self) -> str:
        return str(uuid.uuid4())

    def on_complete(self, listener: CompletionListener) -> None:
        """Call `listener` on the worker thread after each prompt, with its outputs and status."""
        if not self._listeners:
            self._wrap_task_done()
        self._listeners.append(listener)

    def on_event(self, listener: EventListener) -> None:
        """Call `listener` on the event loop with each message ComfyUI sends about the plugin's prompts.

        Also with every queue "status" message (a prompt queued, started, finished or removed), so
        that queue positions can be followed. ComfyUI sends from its worker thread; the listener is
        called on the loop, in the order the messages were sent.
        """
        if not self._event_listeners:
            self._wrap_send_sync()
        self._event_listeners.append(listener)

    def _wrap_send_sync(self) -> None:
        server = self.server
        original = server.send_sync

        def send_sync(event: Any, data: Any, sid: Any = None) -> None:
            original(event, data, sid)
            # Binary events (previews) have int types; the UI's own prompts have other client ids.
            ours = isinstance(sid, str) and sid.startswith(CLIENT_PREFIX)
            if isinstance(event, str) and isinstance(data, dict) and (ours or event == "status"):
                server.loop.call_soon_threadsafe(self._dispatch, event, data)

        server.send_sync = send_sync

    def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        for listener in self._event_listeners:
            try:
                listener(event, data)
            except Exception:  # one listener's bug must not stop the others
                log.exception("ComfyUI-Connect: event listener failed on %s", event)

    def _wrap_task_done(self) -> None:
        queue = self.server.prompt_queue
        original = queue.task_done

        def task_done(item_id: int, history_result: dict[str, Any], status: Any, process_item: Any = None) -> None:
            with queue.mutex:
                item = queue.currently_running.get(item_id)
            original(item_id, history_result, status, process_item=process_item)
            if item is None:
                return
            status_dict = dict(status._asdict()) if status is not None else {"status_str": "error", "completed": False, "messages": []}
            status_dict["create_time"] = item[3].get("create_time") if isinstance(item[3], dict) else None
            for listener in self._listeners:
                try:
                    listener(item[1], status_dict, history_result)
                except Exception:  # a listener bug must never kill ComfyUI's worker thread
                    log.exception("ComfyUI-Connect: completion listener failed")
            # A caller waits on the event loop for this; the worker's own bookkeeping after it (logging,
            # its next queue check) does not. Releasing the GIL here lets the loop answer first.
            time.sleep(0)

        queue.task_done = task_done


# -- what outputs embed -------------------------------------------------------------------------------
# ComfyUI hands every node that declares the hidden input PROMPT (V1) or io.Hidden.prompt (V3) the whole
# queued prompt, and SaveImage, SaveAnimatedWEBP/PNG, SaveVideo, SaveWEBM, SaveAudio, SaveGLB... write it
# into their files. A prompt queued by the plugin also holds every endpoint's `!cache` keepalive nodes
# and the `connect_run` input of its outputs: they must never reach a file. Both 0.3.75 and 0.33.0
# build those hidden inputs in `execution.get_input_data(..., dynprompt, extra_data)` from
# `dynprompt.get_original_prompt()` and `extra_data["extra_pnginfo"]`, so for the plugin's own prompts
# (their extra_data carries EMBED_KEY) the prompt nodes see is swapped for the public one there: every
# node and format embeds only what the endpoint's owner allows, because ComfyUI itself writes it.
_GET_INPUT_DATA = ["inputs", "class_def", "unique_id", "execution_list", "dynprompt", "extra_data"]


class _PublicPrompt:
    """A DynamicPrompt whose `get_original_prompt()` is the public prompt; everything else is the real one."""

    def __init__(self, inner: Any, public: dict[str, Any] | None) -> None:
        self._inner = inner
        self._public = public

    def get_original_prompt(self) -> dict[str, Any] | None:
        return self._public

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install_embed_hook(execution: Any) -> None:
    """Wrap `execution.get_input_data` once; fails loudly if ComfyUI changed it (then nothing is swapped)."""
    original = execution.get_input_data
    if getattr(original, "_connect_embed", False):
        return
    params = list(inspect.signature(original).parameters)
    if params != _GET_INPUT_DATA:
        raise RuntimeError(f"ComfyUI-Connect: unsupported execution.get_input_data signature {params} (expected {_GET_INPUT_DATA})")

    def get_input_data(
        inputs: Any, class_def: Any, unique_id: Any, execution_list: Any = None, dynprompt: Any = None, extra_data: Any = None
    ) -> Any:
        extra = {} if extra_data is None else extra_data
        embed = extra.get(EMBED_KEY) if isinstance(extra, dict) else None
        if not isinstance(embed, dict) or dynprompt is None:
            return original(inputs, class_def, unique_id, execution_list, dynprompt, extra)
        public = _PublicPrompt(dynprompt, embed.get("prompt"))
        found = original(inputs, class_def, unique_id, execution_list, public, extra)
        # Only PROMPT is the public one: a node asking for DYNPROMPT (graph expansion) gets the real graph.
        for part in (found[0], found[2]):  # V1 inputs; V3 hidden inputs (0.33.0: nested under "hidden_inputs")
            _restore(part, public, dynprompt)
        return found

    get_input_data._connect_embed = True  # type: ignore[attr-defined]
    execution.get_input_data = get_input_data
    _probe_embed_hook(execution)


def _restore(values: Any, proxy: Any, real: Any, depth: int = 2) -> None:
    if not isinstance(values, dict) or depth == 0:
        return
    for key, value in values.items():
        if value is proxy:
            values[key] = real
        elif isinstance(value, list) and len(value) == 1 and value[0] is proxy:
            values[key] = [real]
        elif isinstance(value, dict):
            _restore(value, proxy, real, depth - 1)


class _Probe:
    """A V1 node that asks for what SaveImage asks for."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}, "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "dynprompt": "DYNPROMPT"}}


def _probe_embed_hook(execution: Any) -> None:
    """Run the hook once on a real DynamicPrompt: proof at setup that the swap takes effect."""
    from comfy_execution.graph import DynamicPrompt

    secret = {"1": {"class_type": "Secret", "inputs": {}}}
    public = {"2": {"class_type": "Public", "inputs": {}}}
    extra = {EMBED_KEY: {"prompt": public}, "extra_pnginfo": {"workflow": {"nodes": []}}}
    graph = DynamicPrompt(secret)
    found = execution.get_input_data({}, _Probe, "probe", None, graph, extra)[0]
    expected = {"prompt": [public], "extra_pnginfo": [{"workflow": {"nodes": []}}]}
    if {k: found.get(k) for k in expected} != expected or found.get("dynprompt") != [graph]:
        raise RuntimeError(f"ComfyUI-Connect: the hidden-prompt hook has no effect on this ComfyUI (got {found!r})")
