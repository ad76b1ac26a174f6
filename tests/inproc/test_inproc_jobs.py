"""The job runner on the fake engine: sync and async runs, cancel, timeouts, idempotency, SSE events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from support.inproc import Plugin, b64_pixel, canvas, run, steps

from connect.run.jobs import JobQuery


async def start(plugin: Plugin, name: str, payload: Any = None, **headers: str) -> dict[str, Any]:
    response = await plugin.run(name, payload, params={"async": "1"}, headers=headers)
    assert response.status == 202, await response.text()
    return dict(await response.json())


def test_sync_run_answers_with_outputs_and_keeps_the_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("steps", steps())
        response = await plugin.run("steps", {"canvas": {"color": 0x102030}})
        assert response.status == 200, await response.text()
        assert b64_pixel((await response.json())["out"][0]) == (0xEF, 0xDF, 0xCF)
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["status"] == "succeeded" and job["prompt_id"] == response.headers["X-Connect-Prompt-Id"]
        assert job["outputs"] is None and job["result_expired"] is True  # delivered once, the files went

    run(tmp_path, scenario)


def test_async_run_answers_202_and_the_job_ends_with_its_outputs(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        accepted = await start(plugin, "canvas", {"canvas": {"color": 0x010203}})
        assert accepted["status"] in ("queued", "running") and accepted["outputs"] is None
        assert accepted["links"]["self"] == f"/api/connect/jobs/{accepted['id']}"
        plugin.engine.resume()
        done = await plugin.finished(accepted["id"])
        assert done["status"] == "succeeded", done
        assert b64_pixel(done["outputs"]["out"][0]) == (1, 2, 3)
        listed = await (await plugin.client.get("/api/connect/jobs", params={"status": "succeeded"})).json()
        assert [job["id"] for job in listed["jobs"]] == [accepted["id"]]

    run(tmp_path, scenario)


def test_a_sync_call_past_its_wait_budget_answers_202(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        response = await plugin.run("canvas", headers={"Prefer": "wait=0"})
        assert response.status == 202 and response.headers["Location"].startswith("/api/connect/jobs/")

    run(tmp_path, scenario)


def test_cancel_a_queued_and_a_running_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        running = await start(plugin, "canvas")
        queued = await start(plugin, "canvas")
        await plugin.engine.running(running["prompt_id"])
        assert (await plugin.job(queued["id"]))["position"] == 1

        removed = await plugin.client.delete(f"/api/connect/jobs/{queued['id']}")
        assert removed.status == 200, await removed.text()
        body = await removed.json()
        assert body["status"] == "cancelled" and body["error"]["details"]["reason"] == "cancelled"
        assert plugin.engine.prompt_state(queued["prompt_id"]) == "gone"  # taken off the queue, never run

        stopped = await plugin.client.delete(f"/api/connect/jobs/{running['id']}")
        assert stopped.status == 200 and (await stopped.json())["status"] == "cancelled"
        assert plugin.engine.history[running["prompt_id"]]["status"]["status_str"] == "error"  # the engine was interrupted
        # DELETE forgets a job once it has ended.
        assert (await plugin.client.get(f"/api/connect/jobs/{running['id']}")).status == 404

    run(tmp_path, scenario)


def test_a_run_past_its_timeout_is_interrupted_and_answers_504(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        response = await plugin.run("canvas", params={"timeout": "0.2"})
        error = (await response.json())["error"]
        assert response.status == 504 and error["type"] == "timeout", error
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["status"] == "failed" and job["error"]["type"] == "timeout"
        assert plugin.engine.prompt_state(job["prompt_id"]) == "done"  # interrupted, not left running

    run(tmp_path, scenario)


def test_idempotency_key_replays_the_job_and_refuses_another_body(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        key = {"Idempotency-Key": "k-1"}
        first = await plugin.run("canvas", {"canvas": {"color": 5}}, headers=key)
        again = await plugin.run("canvas", {"canvas": {"color": 5}}, headers=key)
        assert first.status == again.status == 200
        assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
        assert again.headers["X-Connect-Job-Id"] == first.headers["X-Connect-Job-Id"]
        assert await again.json() == await first.json()
        other = await plugin.run("canvas", {"canvas": {"color": 6}}, headers=key)
        error = (await other.json())["error"]
        assert other.status == 422 and error["type"] == "idempotency_key_reused"
        assert error["details"]["job_id"] == first.headers["X-Connect-Job-Id"]
        assert len(plugin.engine.history) == 1

    run(tmp_path, scenario)


def test_the_same_key_sent_twice_at_once_starts_one_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        key = {"Idempotency-Key": "k-2"}
        responses = await asyncio.gather(*(plugin.run("canvas", params={"async": "1"}, headers=key) for _ in range(3)))
        ids = {r.headers["X-Connect-Job-Id"] for r in responses}
        assert len(ids) == 1 and sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true", "true"]
        assert plugin.engine.queue_depth() == 1

    run(tmp_path, scenario)


def test_events_stream_and_resume_with_last_event_id(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("steps", steps(count=3))
        plugin.engine.pause()
        job = await start(plugin, "steps")
        plugin.engine.resume()
        stream = await plugin.client.get(f"/api/connect/jobs/{job['id']}/events")
        assert stream.status == 200 and stream.content_type == "text/event-stream"
        events = parse(await stream.text())
        names = [name for _, name, _ in events]
        assert names[0] == "queued" and names[-1] == "succeeded", names
        assert names[1:-1] == ["started", "node", "node", "progress", "node", "node", "output"], names
        assert [data for _, name, data in events if name == "progress"] == ['{"node":"2","value":3,"max":3}']  # the latest step

        resumed = await plugin.client.get(f"/api/connect/jobs/{job['id']}/events", headers={"Last-Event-ID": str(events[2][0])})
        assert [seq for seq, _, _ in parse(await resumed.text())] == [seq for seq, _, _ in events[3:]]

    run(tmp_path, scenario)


def parse(text: str) -> list[tuple[int, str, str]]:
    """(id, event, data) of each SSE message with an id."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "id" in fields:
            found.append((int(fields["id"]), fields["event"], fields["data"]))
    return found


def test_a_sync_caller_that_hangs_up_cancels_its_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        plugin.engine.pause()
        call = asyncio.ensure_future(plugin.run("canvas"))
        prompt_id = await plugin.engine.running()
        (job,) = await plugin.connect.jobs.select(JobQuery())
        assert job.prompt_id == prompt_id
        call.cancel()  # closes the connection
        done = await plugin.finished(job.id)
        assert done["status"] == "cancelled" and done["error"]["details"]["reason"] == "client_disconnected", done

    run(tmp_path, scenario)
