"""GET /api/connect/cluster on one box (no cluster), /metrics' instance label and autoscaling signal, and the
statistics page's route and its key, on the fake engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.inproc import Plugin, canvas, run, steps
from support.workflows import link, node

ADMIN, RUNNER = "admin-key-0123456789", "runner-key-0123456789"


def failing() -> dict[str, Any]:
    return {
        "1": node("EmptyImage", "Canvas $canvas", width=4, height=4, batch_size=1, color=0),
        "2": node("ConnectTestRaise", "Boom", image=link("1"), message="out of paint"),
        "3": node("SaveImage", "Save #out", images=link("2"), filename_prefix="t"),
    }


async def listing(plugin: Plugin) -> dict[str, Any]:
    response = await plugin.client.get("/api/connect/cluster")
    assert response.status == 200, await response.text()
    return dict(await response.json())


def test_one_box_lists_itself_with_its_runs_queue_and_the_autoscaling_signal(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", canvas())
        await plugin.save("slow", steps(5))
        await plugin.save("boom", failing())
        for _ in range(3):
            assert (await plugin.run("pic")).status == 200
        assert (await plugin.run("boom")).status >= 400

        plugin.engine.pause()  # one job holds ComfyUI; two more wait behind it
        started = [await (await plugin.run("slow", params={"async": "1"})).json() for _ in range(3)]
        await plugin.engine.running(started[0]["prompt_id"])
        answer = await listing(plugin)
        plugin.engine.resume()
        for job in started:
            await plugin.finished(job["id"])

        assert answer["enabled"] is False
        (me,) = answer["instances"]
        assert me["id"] == answer["instance"] and me["state"] == "busy" and me["gpu"]["name"] == "fake device"
        assert me["runs"] == 4 and me["failures"] == 1 and me["jobs_per_minute"] > 0 and me["heartbeat_age"] == 0
        assert me["by_workflow"]["pic"]["runs"] == 3 and me["by_workflow"]["pic"]["mean_run_seconds"] is not None
        assert me["recent_failures"][0]["workflow"] == "boom" and me["recent_failures"][0]["type"] == "execution_failed"
        assert [c["workflow"] for c in me["current"]] == ["slow"]
        assert answer["queues"]["local"]["depth"] == 2 and answer["queues"]["local"]["pending"] == 1
        assert answer["queues"]["local"]["workflows"]["slow"]["depth"] == 2
        autoscale = answer["autoscale"]
        assert autoscale["workers"] == 1 and autoscale["target_utilisation"] == 0.8 and autoscale["workers_needed"] >= 1
        assert autoscale["workflows"]["slow"]["queued"] == 2 and autoscale["workflows"]["slow"]["oldest_wait"] >= 0
        assert autoscale["workflows"]["pic"]["arrivals_per_minute"] > 0
        assert sum(me["minutes"]["finished"]) == 4 and len(me["minutes"]["finished"]) == 60

        after = (await listing(plugin))["instances"][0]
        assert after["runs"] == 7 and after["queue"]["depth"] == 0 and after["current"] == []

        metrics = await (await plugin.client.get("/api/connect/metrics")).text()
        label = f'instance="{answer["instance"]}"'
        assert f'connect_workflow_arrivals_per_minute{{{label},workflow="slow"}}' in metrics
        assert f"connect_workers_needed{{{label}}}" in metrics and f"connect_queue_depth{{{label}}}" in metrics

    run(tmp_path, scenario)


def test_the_page_is_served_offline_and_needs_an_admin_key(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        page = await plugin.client.get("/api/connect/cluster/dashboard", headers={"Authorization": f"Bearer {ADMIN}"})
        html = await page.text()
        assert page.status == 200 and page.content_type == "text/html"
        assert "://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing from another host: works offline
        refused = await plugin.client.get("/api/connect/cluster/dashboard", headers={"Authorization": f"Bearer {RUNNER}"})
        assert refused.status == 403 and (await refused.json())["error"]["type"] == "forbidden"
        anonymous = await plugin.client.get("/api/connect/cluster/dashboard", headers={"Accept": "application/json"})
        assert anonymous.status == 401
        browser = await plugin.client.get("/connect/cluster/dashboard", headers={"Accept": "text/html"}, allow_redirects=False)
        assert browser.status in (302, 303) and browser.headers["Location"].startswith("/connect/login?next=")
        form = {"key": ADMIN, "next": "/connect/cluster/dashboard"}
        login = await plugin.client.post("/connect/login", data=form, allow_redirects=False)
        assert login.status == 303
        with_cookie = await plugin.client.get("/api/connect/cluster", headers={"Accept": "application/json"})
        assert with_cookie.status == 200 and (await with_cookie.json())["instances"]  # the page's own poll, with the cookie

    run(tmp_path, scenario, api_keys=f"{ADMIN} admin, {RUNNER} run")


def test_a_save_shows_in_the_next_listing_of_one_box(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("one", canvas())
        assert (await listing(plugin))["instances"][0]["workflows"] == 1
        await plugin.save("two", canvas())  # what the box read of its workflows is read again after a change
        assert (await listing(plugin))["instances"][0]["workflows"] == 2

    run(tmp_path, scenario)
