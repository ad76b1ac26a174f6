"""The one module that touches ComfyUI's internals (its server, execution, nodes, folder_paths).

Everything ComfyUI-specific the plugin relies on is here, checked once at setup (compat.py) so that a
ComfyUI whose internals changed fails loudly at start instead of silently doing nothing. Tested on
ComfyUI 0.3.75 and 0.33.0; what only the newer one has (node replacements, an atomic interrupt) is
used where it exists.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compat import Features, check_internals, comfyui_version
from .frontend import Frontend, read_frontend
from .hidden_prompt import install_embed_hook
from .nodespec import NodeSpec

log = logging.getLogger("comfyui-connect")

# (prompt_id, status: {"status_str", "completed", "messages"}, history_result: {"outputs", "meta"})
CompletionListener = Callable[[str, dict[str, Any], dict[str, Any]], None]
# (event, data): a message ComfyUI sent about one of the plugin's prompts, or a queue "status" change
EventListener = Callable[[str, dict[str, Any]], None]
# Every prompt the plugin queues carries a client id with this prefix; ComfyUI addresses its
# per-prompt messages (executing, progress, executed...) to that id.
CLIENT_PREFIX = "connect-"


@dataclass(frozen=True)
class Validation:
    ok: bool
    error: dict[str, Any] | None
    outputs: list[str]
    node_errors: dict[str, Any]


@dataclass(frozen=True)
class Admitted:
    """A prompt as ComfyUI's POST /prompt would queue it: after on_prompt handlers and node replacements."""

    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    validation: Validation


class ComfyAdapter:
    """ComfyUI 0.3.75 as the plugin's engine and host: implements ``Host`` (engine.py)."""

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
        self._frontend: Frontend | None = None
        self.features: Features = check_internals(server, execution, nodes, comfyui_version(), log)

    @classmethod
    def from_running_server(cls) -> ComfyAdapter:
        from server import PromptServer

        if getattr(PromptServer, "instance", None) is None:
            raise RuntimeError("ComfyUI-Connect must be imported by a running ComfyUI (PromptServer.instance is not set)")
        return cls(PromptServer.instance)

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

    def user_workflows_dir(self) -> Path:
        # The UI saves through ComfyUI's userdata API into the user's folder; without --multi-user that user is "default".
        return self.user_dir() / "default" / "workflows"

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
        """The class's definition exactly as ComfyUI serves it at /object_info: as JSON reads it back
        (V3 definitions hold str enums, e.g. a dynamic combo's option keys, that only JSON turns into their values)."""
        info = self._declared_info(class_type)
        return None if info is None else dict(json.loads(json.dumps(info, default=str)))

    def _declared_info(self, class_type: str) -> dict[str, Any] | None:
        """The dictionary ComfyUI builds for this class's /object_info entry, before it is sent."""
        from comfy_api.internal import _ComfyNodeInternal

        cls = self._nodes.NODE_CLASS_MAPPINGS.get(class_type)
        if cls is None:
            return None
        if issubclass(cls, _ComfyNodeInternal):
            return dict(cls.GET_NODE_INFO_V1())
        declared = cls.INPUT_TYPES()
        outputs = list(getattr(cls, "RETURN_TYPES", ()))
        # The fields of ComfyUI's /object_info that the plugin reads (0.33.0's server.node_info).
        return {
            "input": declared,
            "input_order": {key: list(value) for key, value in declared.items()},
            "is_input_list": bool(getattr(cls, "INPUT_IS_LIST", False)),
            "output": outputs,
            "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(outputs))),
            "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
            "has_intermediate_output": bool(getattr(cls, "HAS_INTERMEDIATE_OUTPUT", False)),
            "deprecated": bool(getattr(cls, "DEPRECATED", False)),
            "dev_only": bool(getattr(cls, "DEV_ONLY", False)),
            "display_name": self._nodes.NODE_DISPLAY_NAME_MAPPINGS.get(class_type, class_type),
            "description": getattr(cls, "DESCRIPTION", ""),
        }

    def frontend(self) -> Frontend:
        if self._frontend is None:  # read once: the web root does not change while ComfyUI runs
            self._frontend = read_frontend(Path(self.server.web_root))
        return self._frontend

    def node_spec(self, class_type: str) -> NodeSpec | None:
        info = self._declared_info(class_type)
        return None if info is None else NodeSpec.from_object_info(class_type, info)

    def replaced(self, prompt: dict[str, Any]) -> dict[str, Any]:
        if not self.features.replacements:
            return prompt
        prompt = copy.deepcopy(prompt)  # the saved workflow's nodes must never change
        self.server.node_replace_manager.apply_replacements(prompt)
        return prompt

    # -- the queue ------------------------------------------------------------------------------
    async def admit(self, prompt_id: str, prompt: dict[str, Any], client_id: str, extra_data: dict[str, Any]) -> Admitted:
        """What ComfyUI's POST /prompt does before queueing, in its order.

        1. the on_prompt handlers other custom nodes registered get {"prompt", "client_id",
           "extra_data", "prompt_id"} (the request body's shape) and may return a changed one;
        2. node classes ComfyUI renamed are replaced (0.33.0's node_replace_manager);
        3. the prompt is validated.
        The prompt id and client id stay the plugin's: it follows its prompts by them. Handlers and
        replacements change a copy, as POST /prompt's are given a freshly parsed body: the caller's
        prompt shares nodes with the saved workflow, which must never change.
        """
        json_data: Any = {"prompt": copy.deepcopy(prompt), "client_id": client_id, "extra_data": dict(extra_data), "prompt_id": prompt_id}
        if self.features.on_prompt:
            json_data = self.server.trigger_on_prompt(json_data)
        if not isinstance(json_data, dict) or not isinstance(json_data.get("prompt"), dict):
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "an on_prompt handler removed the prompt"}
            return Admitted(prompt, dict(extra_data), Validation(False, error, [], {}))
        prompt = json_data["prompt"]
        extra = json_data.get("extra_data")
        extra = {**(extra if isinstance(extra, dict) else {}), "client_id": client_id}
        if self.features.replacements:
            self.server.node_replace_manager.apply_replacements(prompt)
        return Admitted(prompt, extra, await self.validate(prompt_id, prompt))

    async def validate(self, prompt_id: str, prompt: dict[str, Any]) -> Validation:
        ok, error, outputs, node_errors = await self._execution.validate_prompt(prompt_id, prompt, None)
        return Validation(bool(ok), error, list(outputs), dict(node_errors or {}))

    def enqueue(self, prompt_id: str, prompt: dict[str, Any], outputs: list[str], extra_data: dict[str, Any]) -> None:
        number = self.server.number
        self.server.number += 1
        # As POST /prompt: secrets (an on_prompt handler may add them) go in the item's last, unlisted part.
        secret_keys = getattr(self._execution, "SENSITIVE_EXTRA_DATA_KEYS", ())
        sensitive = {key: extra_data[key] for key in secret_keys if key in extra_data}
        # ComfyUI's POST /prompt stamps create_time too; the metrics measure queue wait from it.
        extra_data = {"create_time": int(time.time() * 1000), **{k: v for k, v in extra_data.items() if k not in sensitive}}
        # Exactly ComfyUI's 6-tuple: anything else kills the worker thread without a word.
        self.server.prompt_queue.put((number, prompt_id, prompt, extra_data, outputs, sensitive))

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

    def machine(self) -> dict[str, Any]:
        # The same calls ComfyUI's GET /system_stats makes; a CPU-only box reports its RAM as "VRAM" there too.
        import comfy.model_management as mm
        from comfy.cli_args import args

        device = mm.get_torch_device()
        return {
            "comfyui_version": comfyui_version(),
            "device": str(mm.get_torch_device_name(device)),
            "vram_total": int(mm.get_total_memory(device)),
            "vram_free": int(mm.get_free_memory(device)),
            "port": int(args.port),
            # What ComfyUI holds loaded now (its model classes, e.g. "SDXL"), for the statistics page.
            "loaded_models": sorted({type(m.model.model).__name__ for m in mm.current_loaded_models if m.model is not None}),
        }

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
        prompt in between, and it clears the flag when it starts that next prompt. ComfyUI 0.33.0 does
        exactly that itself (interrupt_if_running, the lock is reentrant); older ones do it here.
        """
        queue = self.server.prompt_queue
        with queue.mutex:
            if queue.delete_queue_item(lambda item: item[1] == prompt_id):
                return "removed"
            if self.features.atomic_interrupt:
                return "interrupted" if queue.interrupt_if_running(prompt_id) else "none"
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
