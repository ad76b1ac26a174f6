"""What happens to a job, as a numbered list of events, and their Server-Sent Events form.

    queued     {"position": 2}                                   the job was accepted (1: runs next)
    position   {"position": 1}                                   its place in ComfyUI's queue changed
    started    {"started_at": "..."}                             ComfyUI began executing it
    cached     {"nodes": ["1"]}                                  nodes whose earlier results ComfyUI reuses
    node       {"node": "2", "title": "...", "class_type": "..."}   a node starts executing
    progress   {"node": "2", "value": 3, "max": 10}              a step inside a node (e.g. sampler steps)
    output     {"name": "out", "node": "3", "files": [...]}      a `#` output node's files are ready
    succeeded, failed or cancelled   {the job}                   the final state; the stream ends there

ComfyUI's per-prompt messages (see Engine.on_event, comfy/engine.py), decoded by comfy/messages.py, are
translated here, on the event loop.
Each job keeps its events (a run of progress events of one node is kept as its latest), so a stream
opened late, or reopened with ``Last-Event-ID``, gets everything it missed.

``JobEvents`` is the interface an event bus implements (a cluster-wide one keeps the events in a shared
store); ``EventHub`` keeps them in this process.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from ..comfy.messages import Cached, Executed, Executing, Progress, QueueChanged, Started, decode
from ..io.outputs import file_refs

_MAX_EVENTS = 5000
StartListener = Callable[[str, float], None]  # (job id, epoch seconds)


@dataclass(frozen=True)
class Event:
    seq: int
    name: str
    data: Mapping[str, Any]

    def sse(self) -> str:
        return f"id: {self.seq}\nevent: {self.name}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n"


@dataclass
class Feed:
    job_id: str
    prompt_id: str
    labels: Mapping[str, tuple[str | None, str]]  # node id -> (title, class_type)
    outputs: Mapping[str, tuple[str, ...]]  # node id -> the `#` names it feeds
    events: list[Event] = field(default_factory=list)
    seq: int = 0
    position: int | None = None
    started: bool = False
    closed: bool = False
    progress: dict[str, Any] | None = None
    nodes_executed: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


class JobEvents(Protocol):
    def open(
        self, job_id: str, prompt_id: str, labels: Mapping[str, tuple[str | None, str]], outputs: Mapping[str, tuple[str, ...]]
    ) -> None:
        """Register a job before its prompt is queued, so that none of its messages is missed."""

    def queued(self, job_id: str) -> None: ...

    def close(self, job_id: str, name: str, data: Mapping[str, Any]) -> None:
        """Publish the final event (succeeded, failed or cancelled); the job's streams end after it."""

    def drop(self, job_id: str) -> None: ...

    def known(self, job_id: str) -> bool: ...

    def position(self, job_id: str) -> int | None: ...

    def progress(self, job_id: str) -> dict[str, Any] | None: ...

    def on_start(self, listener: StartListener) -> None:
        """Call `listener(job_id, started_at)` when the engine starts a job's prompt."""

    def comfy_event(self, event: str, data: dict[str, Any]) -> None:
        """One of the engine's messages (an Engine.on_event listener)."""

    def stream(self, job_id: str, after: int, heartbeat: float) -> AsyncIterator[str]:
        """The job's events after `after`, as SSE text, then the live ones; ends after the final one."""


class EventHub:
    def __init__(self, positions: Callable[[], dict[str, int]], on_start: StartListener | None = None) -> None:
        self._positions = positions
        self._start_listeners = [] if on_start is None else [on_start]
        self._feeds: dict[str, Feed] = {}
        self._by_prompt: dict[str, str] = {}
        # Feeds of jobs not started yet: the only ones a queue change moves. Finished jobs' feeds stay
        # in _feeds (for late readers) and must not be walked on every status message.
        self._waiting: dict[str, Feed] = {}

    # -- jobs --------------------------------------------------------------------------------------
    def open(
        self, job_id: str, prompt_id: str, labels: Mapping[str, tuple[str | None, str]], outputs: Mapping[str, tuple[str, ...]]
    ) -> None:
        """Register a job before its prompt is queued, so that none of its messages is missed."""
        self._feeds[job_id] = self._waiting[job_id] = Feed(job_id, prompt_id, labels, outputs)
        self._by_prompt[prompt_id] = job_id

    def queued(self, job_id: str) -> None:
        feed = self._feeds[job_id]
        feed.position = self._positions().get(feed.prompt_id)
        if not feed.started:
            self._publish(feed, "queued", {"position": feed.position})

    def close(self, job_id: str, name: str, data: Mapping[str, Any]) -> None:
        feed = self._feeds.get(job_id)
        if feed is None or feed.closed:
            return
        self._by_prompt.pop(feed.prompt_id, None)
        self._waiting.pop(job_id, None)
        feed.progress = None
        feed.closed = True
        self._publish(feed, name, data)

    def drop(self, job_id: str) -> None:
        feed = self._feeds.pop(job_id, None)
        self._waiting.pop(job_id, None)
        if feed is not None:
            self._by_prompt.pop(feed.prompt_id, None)

    def position(self, job_id: str) -> int | None:
        feed = self._feeds.get(job_id)
        if feed is None or feed.started or feed.closed:
            return None
        return self._positions().get(feed.prompt_id)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        feed = self._feeds.get(job_id)
        return None if feed is None or feed.progress is None else dict(feed.progress)

    def known(self, job_id: str) -> bool:
        return job_id in self._feeds

    def on_start(self, listener: StartListener) -> None:
        self._start_listeners.append(listener)

    # -- ComfyUI's messages (an on_event listener) -------------------------------------------------
    def comfy_event(self, event: str, data: dict[str, Any]) -> None:
        message = decode(event, data)
        if message is None:
            return
        if isinstance(message, QueueChanged):
            self._queue_moved()
            return
        job_id = self._by_prompt.get(message.prompt_id)
        feed = self._feeds.get(job_id) if job_id is not None else None
        if feed is None or feed.closed:
            return
        if isinstance(message, Started):
            started = message.at or None
            feed.started, feed.position = True, None
            self._waiting.pop(feed.job_id, None)
            self._publish(feed, "started", {"started_at": iso(started)})
            for listener in self._start_listeners:
                listener(feed.job_id, started or 0.0)
        elif isinstance(message, Cached):
            cached = [node for node in message.nodes if node in feed.labels]
            if cached:
                self._publish(feed, "cached", {"nodes": cached})
        elif isinstance(message, Executing):
            self._node_started(feed, message.node)
        elif isinstance(message, Progress):
            self._progress(feed, message.node, message.value, message.max)
        elif isinstance(message, Executed):
            self._executed(feed, message.node, message.output)

    def _queue_moved(self) -> None:
        if not self._waiting:
            return
        positions = self._positions()
        for feed in list(self._waiting.values()):
            place = positions.get(feed.prompt_id)
            if place is not None and place != feed.position:
                feed.position = place
                self._publish(feed, "position", {"position": place})

    def _node_started(self, feed: Feed, node_id: str) -> None:
        title, class_type = feed.labels.get(node_id, (None, ""))
        feed.nodes_executed += 1
        feed.progress = {"node": node_id, "title": title, "class_type": class_type, "value": None, "max": None}
        feed.progress["nodes_executed"] = feed.nodes_executed
        self._publish(feed, "node", {"node": node_id, "title": title, "class_type": class_type})

    def _progress(self, feed: Feed, node_id: str, value: Any, maximum: Any) -> None:
        if feed.progress is not None and feed.progress["node"] == node_id:
            feed.progress.update(value=value, max=maximum)
        self._publish(feed, "progress", {"node": node_id, "value": value, "max": maximum})

    def _executed(self, feed: Feed, node_id: str, output: Any) -> None:
        names = feed.outputs.get(node_id, ())
        if not names or not isinstance(output, dict):
            return
        files = [{"filename": r.filename, "subfolder": r.subfolder, "type": r.kind} for r in file_refs(output)]
        for name in names:
            self._publish(feed, "output", {"name": name, "node": node_id, "files": files})

    def _publish(self, feed: Feed, name: str, data: Mapping[str, Any]) -> None:
        feed.seq += 1
        event = Event(feed.seq, name, data)
        last = feed.events[-1] if feed.events else None
        if name == "progress" and last is not None and last.name == "progress" and last.data.get("node") == data.get("node"):
            feed.events[-1] = event  # a late reader needs the latest step, not every one
        else:
            feed.events.append(event)
            if len(feed.events) > _MAX_EVENTS:
                del feed.events[1]  # keep "queued" first
        changed, feed.changed = feed.changed, asyncio.Event()
        changed.set()

    # -- Server-Sent Events --------------------------------------------------------------------------
    async def stream(self, job_id: str, after: int, heartbeat: float) -> AsyncIterator[str]:
        """The job's events after `after`, as SSE text, then the live ones; ends after the final one."""
        feed = self._feeds[job_id]
        yield "retry: 2000\n\n"
        while True:
            start = bisect.bisect_right(feed.events, after, key=lambda e: e.seq)
            for event in feed.events[start:]:
                after = event.seq
                yield event.sse()
            if feed.closed:
                return
            changed = feed.changed
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"  # a comment line: keeps proxies from closing an idle stream
