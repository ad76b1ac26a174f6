"""Plain files of the workflows folder and ComfyUI's saved workflows, through the real plugin on the
fake engine (beside tests/workflow/test_sources_e2e.py on a real ComfyUI)."""

from __future__ import annotations

import json
from pathlib import Path

from support.inproc import Plugin, b64_pixel, run
from support.plainfiles import ui_workflow


def test_folder_and_user_workflows_are_listed_described_and_run(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "canvas.json").write_text(json.dumps(ui_workflow(width=8, color=0x112233)))

    async def scenario(plugin: Plugin) -> None:
        user = plugin.engine.user_workflows_dir()
        user.mkdir(parents=True, exist_ok=True)
        (user / "My Canvas.json").write_text(json.dumps(ui_workflow(width=8, color=0x445566)))
        (user / "Taken.json").write_text(json.dumps(ui_workflow()))
        await plugin.save("taken", {"1": {"class_type": "EmptyImage", "inputs": {}, "_meta": {"title": "#x"}}})

        listing = await (await plugin.client.get("/api/connect/workflows")).json()
        sources = {w["name"]: (w["source"], w["file"]) for w in listing["workflows"]}
        assert sources == {"canvas": ("folder", "canvas.json"), "my-canvas": ("user", "My Canvas.json"), "taken": ("api", None)}
        assert listing["errors"]["user:Taken.json"]["error"]["type"] == "name_clash"
        described = await (await plugin.client.get("/api/connect/workflows/my-canvas")).json()
        assert described["source"] == "user" and described["inputs"]["size"]["inputs"]["color"] == 0x445566
        for name, color in (("canvas", (0x11, 0x22, 0x33)), ("my-canvas", (0x44, 0x55, 0x66))):
            response = await plugin.run(name)
            assert response.status == 200, await response.text()
            assert b64_pixel((await response.json())["out"][0]) == color
        refused = await plugin.client.put("/api/connect/workflows/canvas", json={"workflow": ui_workflow()})
        assert refused.status == 409 and (await refused.json())["error"]["type"] == "read_only_workflow"
        refused = await plugin.client.delete("/api/connect/workflows/my-canvas")
        assert refused.status == 409 and (await refused.json())["error"]["details"]["file"] == "My Canvas.json"

    run(tmp_path, scenario, workflows_dir=folder)
