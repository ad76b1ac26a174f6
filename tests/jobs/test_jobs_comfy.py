"""What ComfyUI's own POST /prompt and jobs API do, done for and seen on the plugin's runs (a real ComfyUI).

On every version: other custom nodes' on_prompt handlers run on the plugin's prompts. On 0.33.0 also:
node classes ComfyUI renamed are replaced, and the plugin's jobs are listed and cancellable in
ComfyUI's /api/jobs (cancelled there, they end `cancelled` here).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from support.client import Client
from support.workflows import node

pytestmark = pytest.mark.e2e


def comfyui_version(jobs: Client) -> str:
    stats: dict[str, Any] = requests.get(jobs.server.url + "/system_stats", timeout=30).json()
    return str(stats["system"]["comfyui_version"])


def needs_033(jobs: Client, feature: str) -> None:
    version = comfyui_version(jobs)
    if tuple(int(p) for p in version.split(".")[:2]) < (0, 33):
        pytest.skip(f"ComfyUI {version} has no {feature} (ComfyUI 0.33.0 added it)")


def save(jobs: Client, name: str, prompt: dict[str, Any]) -> None:
    response = requests.put(f"{jobs.api_url}/workflows/{name}", json={"prompt": prompt}, timeout=30)
    assert response.status_code == 201, response.text


def test_on_prompt_handlers_of_other_custom_nodes_run_on_the_plugins_prompts(idle: Client) -> None:
    save(
        idle,
        "on-prompt",
        {
            "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
            "2": node("ConnectTestOnPrompt", "Mark", image=["1", 0], seen=""),
            "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="jobs-on-prompt"),
        },
    )
    # Twice: the handler writes only into an empty input, so the second run fails if the first
    # run's change reached the saved workflow.
    for color in (61, 71):
        job = idle.finished(idle.start("on-prompt", {"canvas": {"color": color}})["id"])
        assert job["status"] == "succeeded", job

        entry = idle.history(job["prompt_id"])
        # The handler's change reached the node that ran: its UI text is what the handler wrote.
        seen = json.loads(entry["outputs"]["2"]["text"][0])
        # The shape a handler gets from ComfyUI's POST /prompt body, with the plugin's ids.
        assert seen["keys"] == ["client_id", "extra_data", "prompt", "prompt_id"]
        assert seen["prompt_id"] == job["prompt_id"] and seen["client_id"] == f"connect-{job['prompt_id']}"


def test_a_renamed_node_class_runs_under_its_new_name(idle: Client) -> None:
    needs_033(idle, "node replacements")
    # The test pack registers ConnectTestOldSteps(picture, count) -> ConnectTestSteps(image, steps, seconds=0).
    save(
        idle,
        "renamed",
        {
            "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
            "2": node("ConnectTestOldSteps", "Old $old", picture=["1", 0], count=2),
            "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="jobs-renamed"),
        },
    )
    job = idle.finished(idle.start("renamed", {"canvas": {"color": 62}, "old": {"count": 3}})["id"])
    assert job["status"] == "succeeded", job
    queued = idle.history(job["prompt_id"])["prompt"][2]["2"]
    assert queued["class_type"] == "ConnectTestSteps" and queued["inputs"] == {"image": ["1", 0], "steps": 3, "seconds": 0.0}


def test_comfyuis_own_replacement_table_is_applied(idle: Client) -> None:
    needs_033(idle, "node replacements")
    # Preview3DAnimation was merged into Preview3D. ComfyUI's table maps none of its inputs, so its
    # POST /prompt, and the plugin with it, then finds Preview3D's model_file missing.
    save(
        idle,
        "renamed-builtin",
        {
            "1": node("EmptyImage", "Canvas", width=8, height=8, batch_size=1, color=0),
            "2": node("SaveImage", "Save #out", images=["1", 0], filename_prefix="jobs-renamed-builtin"),
            "3": node("Preview3DAnimation", "Old 3D preview", model_file="connect-test.glb"),
        },
    )
    response = idle.run("renamed-builtin")
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["details"]["problems"]
    assert [(p["node_id"], p["class_type"], p["type"]) for p in problems] == [("3", "Preview3D", "required_input_missing")]


def comfy_job(jobs: Client, prompt_id: str) -> dict[str, Any]:
    response = requests.get(f"{jobs.server.url}/api/jobs/{prompt_id}", timeout=30)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def cancel_in_comfy(jobs: Client, prompt_id: str) -> None:
    response = requests.post(f"{jobs.server.url}/api/jobs/{prompt_id}/cancel", timeout=30)
    assert response.status_code == 200 and response.json() == {"cancelled": True}, response.text


def test_a_running_job_cancelled_in_comfyuis_jobs_api_ends_cancelled(idle: Client) -> None:
    needs_033(idle, "jobs API")
    job = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 63}})
    assert str(uuid.UUID(job["prompt_id"])) == job["prompt_id"]  # the jobs API takes only canonical UUIDs
    idle.running(job["id"])
    assert comfy_job(idle, job["prompt_id"])["status"] == "in_progress"

    cancel_in_comfy(idle, job["prompt_id"])
    ended = idle.finished(job["id"])
    assert ended["status"] == "cancelled", ended
    assert ended["error"]["details"]["reason"] == "interrupted" and ended["error"]["details"]["node_id"] == "2"
    assert comfy_job(idle, job["prompt_id"])["status"] == "cancelled"


def test_a_queued_job_cancelled_in_comfyuis_jobs_api_ends_cancelled(idle: Client) -> None:
    needs_033(idle, "jobs API")
    running = idle.start("slow", {"slow": {"seconds": 2}, "canvas": {"color": 64}})
    idle.running(running["id"])
    queued = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 65}})
    listed = requests.get(f"{idle.server.url}/api/jobs", params={"status": "pending"}, timeout=30).json()["jobs"]
    assert queued["prompt_id"] in [item["id"] for item in listed]

    cancel_in_comfy(idle, queued["prompt_id"])
    ended = idle.finished(queued["id"])
    assert ended["status"] == "cancelled" and ended["started_at"] is None, ended
    assert ended["error"]["details"]["reason"] == "removed"
    assert idle.finished(running["id"])["status"] == "succeeded"
