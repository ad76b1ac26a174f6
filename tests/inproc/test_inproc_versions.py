"""Versions on the fake engine: the routes, pinned runs and their jobs, the bound, the guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.inproc import Plugin, b64_pixel, canvas, run


async def put(plugin: Plugin, name: str, prompt: Any, query: str = "") -> tuple[int, dict[str, Any]]:
    response = await plugin.client.put(f"/api/connect/workflows/{name}{query}", json={"prompt": prompt})
    return response.status, dict(await response.json())


async def versions(plugin: Plugin, name: str) -> dict[str, Any]:
    response = await plugin.client.get(f"/api/connect/workflows/{name}/versions")
    assert response.status == 200, await response.text()
    return dict(await response.json())


def test_saves_list_and_a_pinned_run_with_its_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        _, old = await put(plugin, "team/v", canvas(color=0x110000))
        _, new = await put(plugin, "team/v", canvas(color=0x002200))
        listed = await versions(plugin, "team/v")
        assert [v["version"] for v in listed["versions"]] == [new["version"], old["version"]]
        assert listed["current"] == new["version"]

        response = await plugin.run("team/v", params={"version": old["version"][:5]})
        assert response.status == 200, await response.text()
        assert [b64_pixel(item) for item in (await response.json())["out"]] == [(0x11, 0, 0)]
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["version"] == old["version"]

        started = await plugin.run("team/v", params={"async": "1"})
        assert (await started.json())["version"] == new["version"]  # the 202 answer names it too

    run(tmp_path, scenario)


def test_only_the_bound_is_kept(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        saved = [(await put(plugin, "bounded", canvas(color=color)))[1]["version"] for color in range(1, 5)]
        assert [v["version"] for v in (await versions(plugin, "bounded"))["versions"]] == saved[:1:-1]
        gone = await plugin.run("bounded", params={"version": saved[0]})
        assert gone.status == 404 and saved[0] in await gone.text()

    run(tmp_path, scenario, workflow_versions=2)


def test_the_guard_refuses_a_breaking_save_unless_forced(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await put(plugin, "guarded", canvas())
        narrowed = {**canvas(), "1": {**canvas()["1"], "_meta": {"title": "Canvas $canvas(color)"}}}
        status, refused = await put(plugin, "guarded", narrowed)
        assert status == 409 and refused["error"]["type"] == "breaking_change"
        assert refused["error"]["details"]["breaking"] == ["canvas.width removed", "canvas.height removed", "canvas.batch_size removed"]
        assert len((await versions(plugin, "guarded"))["versions"]) == 1
        status, forced = await put(plugin, "guarded", narrowed, "?force=true")
        assert status == 200 and forced["changes"]["breaking"] == refused["error"]["details"]["breaking"]
        status, bad = await put(plugin, "guarded", canvas(), "?force=perhaps")
        assert status == 400 and bad["error"]["details"] == {"path": "force"}

    run(tmp_path, scenario, refuse_breaking=True)


def test_without_the_setting_a_breaking_save_goes_through_and_says_so(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await put(plugin, "told", canvas())
        status, body = await put(plugin, "told", {**canvas(), "2": {**canvas()["2"], "_meta": {"title": "Save #image"}}})
        assert status == 200
        assert body["changes"]["breaking"] == ["output out removed"] and body["changes"]["compatible"] == ["output image added"]

    run(tmp_path, scenario)


def test_restore_after_delete_and_errors_in_the_one_shape(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        _, saved = await put(plugin, "back", canvas(color=0x000033))
        assert (await plugin.client.delete("/api/connect/workflows/back")).status == 204
        assert (await versions(plugin, "back"))["current"] is None
        restored = await plugin.client.post(f"/api/connect/workflows/back/versions/{saved['version'][:8]}/restore")
        assert restored.status == 201, await restored.text()
        assert (await restored.json())["restored"] == saved["version"]
        for path, status in (
            ("/api/connect/workflows/back/versions/ffff/restore", 404),
            ("/api/connect/workflows/back/versions/zz!/restore", 400),
            ("/api/connect/workflows/back?version=ffff", 404),
        ):
            response = await (plugin.client.post(path) if path.endswith("restore") else plugin.client.get(path))
            body = await response.json()
            assert response.status == status and set(body["error"]) == {"type", "message", "details"}, (path, body)
        missing = await plugin.client.get("/api/connect/workflows/never/versions")
        assert missing.status == 404
        # A stored file broken by hand: its versions still list (none current), and one restores it.
        assert plugin.connect.versions is not None
        (plugin.connect.versions.root / "back.json").write_text("{not json")
        listed = await versions(plugin, "back")
        assert listed["current"] is None and [v["version"] for v in listed["versions"]] == [saved["version"]]
        repaired = await plugin.client.post(f"/api/connect/workflows/back/versions/{saved['version']}/restore")
        assert repaired.status == 200, await repaired.text()

    run(tmp_path, scenario)


MANAGER = "manager-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef0"


def test_a_run_key_may_list_and_pin_but_not_restore(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        manage, runner = ({"Authorization": f"Bearer {key}"} for key in (MANAGER, RUNNER))
        saved = await plugin.client.put("/api/connect/workflows/keyed", json={"prompt": canvas()}, headers=manage)
        vid = (await saved.json())["version"]
        assert (await plugin.client.get("/api/connect/workflows/keyed/versions", headers=runner)).status == 200
        pinned = await plugin.client.post(f"/api/connect/workflows/keyed?version={vid}", json={}, headers=runner)
        assert pinned.status == 200, await pinned.text()
        refused = await plugin.client.post(f"/api/connect/workflows/keyed/versions/{vid}/restore", headers=runner)
        assert refused.status == 403 and (await refused.json())["error"]["details"]["required"] == "manage"
        allowed = await plugin.client.post(f"/api/connect/workflows/keyed/versions/{vid}/restore", headers=manage)
        assert allowed.status == 200, await allowed.text()

    run(tmp_path, scenario, api_keys=f"{MANAGER} manage, {RUNNER} run")
