"""Input files callers send have a lifetime (README "Files in"), on a server where it is 2 s.

Stored in <input>/connect/, out of LoadImage's list; removed once no prompt on ComfyUI's queue names
them and they were not sent again for CONNECT_INPUT_TTL; a file put there by hand is never touched.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import requests
from support.client import Client, wait_until
from support.images import b64, png, sha
from support.workflows import node

pytestmark = pytest.mark.e2e

SLOW = {
    "1": node("LoadImage", "$load", image="example.png"),
    "2": node("ConnectTestSlow", "$slow", image=["1", 0], seconds=600.0),
    "3": node("SaveImage", "#out", images=["2", 0], filename_prefix="slow"),
}


def image_input(data: bytes) -> dict[str, Any]:
    return {"type": "file", "content": b64(data), "name": "in.png"}


def stored(io: Client) -> list[str]:
    folder = io.input / "connect"
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("connect-")) if folder.is_dir() else []


def start_job(io: Client, data: bytes, seconds: float) -> str:
    response = requests.post(
        f"{io.url}/api/connect/workflows/io-slow",
        params={"async": "1"},
        json={"load": {"image": image_input(data)}, "slow": {"seconds": seconds}},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def job(io: Client, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(f"{io.url}/api/connect/jobs/{job_id}", timeout=30).json()
    return found


def test_stored_files_go_once_no_job_needs_them(short_lived: Client) -> None:
    io = short_lived
    assert requests.put(f"{io.url}/api/connect/workflows/io-slow", json={"prompt": SLOW}, timeout=30).status_code in (200, 201)
    by_hand = [io.input / "connect" / "holiday.png", io.input / f"connect-{'0' * 32}.png"]
    (io.input / "connect").mkdir(exist_ok=True)
    for path in by_hand:
        path.write_bytes(png())

    # N calls with distinct images; ComfyUI's own UI lists none of their files (LoadImage's list, as the page reads it).
    quick = [png((n, 2, 3), (5, 5)) for n in range(5)]
    for data in quick:
        response = io.run("io-image", {"load": {"image": image_input(data)}})
        assert response.status_code == 200, response.text
        prompt = io.history(response.headers["X-Connect-Prompt-Id"])["prompt"][2]
        assert prompt["1"]["inputs"]["image"] == f"connect/connect-{sha(data)[:32]}.png"  # loaded from the subfolder
        listed = requests.get(f"{io.url}/object_info/LoadImage", timeout=30).json()["LoadImage"]["input"]["required"]["image"][0]
        assert "example.png" in listed and not [name for name in listed if sha(data)[:32] in name], listed

    # A long job holds its input X while the lifetime passes: the quick calls' files go, X stays.
    held = png((1, 1, 1), (9, 9))
    held_path = io.input / "connect" / f"connect-{sha(held)[:32]}.png"
    slow = start_job(io, held, 600.0)
    wait_until(lambda: job(io, slow)["status"] == "running", 60, "the slow job started")
    wait_until(lambda: stored(io) == [held_path.name], 60, "the unused inputs were removed")
    wait_until(lambda: time.time() - held_path.stat().st_mtime > 3.0, 60, "X outlived its lifetime")
    # A file named like the plugin's, old: once it is gone, a sweep ran after X's lifetime ended.
    marker = io.input / "connect" / f"connect-{'f' * 32}.png"
    marker.write_bytes(b"marker")
    os.utime(marker, (1.0, 1.0))
    wait_until(lambda: not marker.exists(), 60, "a sweep ran")
    assert held_path.is_file() and job(io, slow)["status"] == "running"

    # The same content sent again while the job runs (a second job, queued behind it) is not deleted under either.
    again = start_job(io, held, 0.0)
    assert requests.delete(f"{io.url}/api/connect/jobs/{slow}", timeout=30).status_code in (200, 202)
    wait_until(lambda: job(io, again)["status"] == "succeeded", 120, "the duplicate's job finished")
    # Nothing runs any more: everything the plugin stored goes; what was put there by hand stays.
    wait_until(lambda: stored(io) == [], 60, "the last input was removed")
    assert all(path.is_file() for path in by_hand)
