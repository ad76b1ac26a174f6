"""ComfyUI's messages become job events; the SSE stream replays them and ends after the final one."""

from __future__ import annotations

import asyncio

from connect.run.events import EventHub

LABELS = {"1": ("Canvas $canvas", "EmptyImage"), "2": ("Steps", "ConnectTestSteps"), "3": ("Save #out", "SaveImage")}


def hub_with(positions: dict[str, int]) -> tuple[EventHub, list[tuple[str, float]]]:
    started: list[tuple[str, float]] = []
    hub = EventHub(lambda: dict(positions), lambda job_id, at: started.append((job_id, at)))
    hub.open("j", "p", LABELS, {"3": ("out",)})
    return hub, started


async def collect(hub: EventHub, after: int = 0) -> list[str]:
    return [chunk async for chunk in hub.stream("j", after, heartbeat=5)]


def test_comfyui_messages_become_events_in_order() -> None:
    positions = {"p": 2}
    hub, started = hub_with(positions)
    hub.queued("j")
    positions["p"] = 1
    hub.comfy_event("status", {"status": {}})
    hub.comfy_event("status", {"status": {}})  # unchanged: no event
    hub.comfy_event("execution_start", {"prompt_id": "p", "timestamp": 1_700_000_000_000})
    hub.comfy_event("execution_cached", {"prompt_id": "p", "nodes": ["1", "connect-cache-0-4"]})
    hub.comfy_event("executing", {"prompt_id": "p", "node": "2"})
    for value in (1, 2, 3):
        hub.comfy_event("progress", {"prompt_id": "p", "node": "2", "value": value, "max": 3})
    assert hub.progress("j") == {"node": "2", "title": "Steps", "class_type": "ConnectTestSteps", "value": 3, "max": 3, "nodes_executed": 1}
    hub.comfy_event("executing", {"prompt_id": "p", "node": "3"})
    hub.comfy_event(
        "executed", {"prompt_id": "p", "node": "3", "output": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}}
    )
    hub.comfy_event("executing", {"prompt_id": "other", "node": "9"})  # someone else's prompt
    hub.close("j", "succeeded", {"id": "j"})
    hub.comfy_event("executing", {"prompt_id": "p", "node": "1"})  # after the end: ignored

    chunks = asyncio.run(collect(hub))
    assert chunks[0] == "retry: 2000\n\n"
    names = [c.split("\n")[1].removeprefix("event: ") for c in chunks[1:]]
    assert names == ["queued", "position", "started", "cached", "node", "progress", "node", "output", "succeeded"]
    assert started == [("j", 1_700_000_000.0)]
    assert '"nodes":["1"]' in chunks[4]  # the plugin's keep-alive nodes are not the caller's
    assert '"value":3' in chunks[6]  # the replay keeps a node's latest step
    assert '"files":[{"filename":"a.png","subfolder":"","type":"output"}]' in chunks[8]
    resumed = asyncio.run(collect(hub, after=7))
    assert [c.split("\n")[0] for c in resumed[1:]] == [c.split("\n")[0] for c in chunks[1:] if int(c.split("\n")[0][4:]) > 7]


def test_a_live_stream_gets_new_events_and_heartbeats() -> None:
    async def check() -> list[str]:
        hub, _ = hub_with({"p": 1})
        hub.queued("j")
        chunks: list[str] = []
        idle = asyncio.Event()

        async def read() -> None:
            async for chunk in hub.stream("j", 0, heartbeat=0.01):
                chunks.append(chunk)
                if chunk.startswith(": keep-alive"):
                    idle.set()

        reader = asyncio.ensure_future(read())
        await asyncio.wait_for(idle.wait(), 5)
        hub.comfy_event("execution_start", {"prompt_id": "p", "timestamp": 1})
        hub.close("j", "cancelled", {"id": "j"})
        await asyncio.wait_for(reader, 5)
        return chunks

    chunks = [c for c in asyncio.run(check()) if not c.startswith(":")]
    assert [c.split("\n")[1] for c in chunks[1:]] == ["event: queued", "event: started", "event: cancelled"]


def test_queue_changes_move_only_jobs_still_waiting() -> None:
    looked = []
    positions = {"p": 2, "q": 3, "r": 4}

    def read_positions() -> dict[str, int]:
        looked.append(1)
        return dict(positions)

    hub = EventHub(read_positions, lambda job_id, at: None)
    for job, prompt in (("j", "p"), ("k", "q"), ("l", "r")):
        hub.open(job, prompt, LABELS, {})
        hub.queued(job)
    hub.comfy_event("execution_start", {"prompt_id": "p", "timestamp": 1})
    hub.close("k", "cancelled", {"id": "k"})
    positions.update(p=1, q=1, r=1)
    hub.comfy_event("status", {"status": {}})
    assert [hub.position(j) for j in ("j", "k", "l")] == [None, None, 1]
    moved = [e.name for job in ("j", "k", "l") for e in hub._feeds[job].events if e.name == "position"]
    assert moved == ["position"]  # only l's
    hub.drop("l")
    looked.clear()
    hub.comfy_event("status", {"status": {}})  # nobody waits: ComfyUI's queue is not even read
    assert looked == []
