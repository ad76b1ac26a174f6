"""A job shows its outputs as its run call chose (GET and webhook alike), or as GET's ?output= asks; real ComfyUI."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from support.client import Client
from support.filehost import FileHost

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
URL_JSON = "application/vnd.comfyui-connect.url+json"


def _finished(jobs: Client, color: int, params: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    # A color per test: identical prompts would be answered from ComfyUI's cache.
    job = jobs.start("steps", {"canvas": {"color": color}}, params, **kwargs)
    done: dict[str, Any] = jobs.finished(job["id"])
    assert done["status"] == "succeeded", done
    return done


def _get(jobs: Client, job_id: str, output: str) -> dict[str, Any]:
    response = requests.get(f"{jobs.api_url}/jobs/{job_id}", params={"output": output}, timeout=30)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _download(jobs: Client, url: str) -> bytes:
    assert url.startswith(f"{jobs.server.url}/api/connect/files/"), url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    content: bytes = response.content
    return content


def test_a_job_started_with_output_url_shows_links_that_download_its_bytes(idle: Client) -> None:
    done = _finished(idle, 0x112233, {"output": "url"})
    (url,) = done["outputs"]["out"]
    downloaded = _download(idle, url)
    assert downloaded.startswith(PNG_MAGIC)
    (encoded,) = _get(idle, done["id"], "base64")["outputs"]["out"]
    assert base64.b64decode(encoded) == downloaded
    assert idle.job(done["id"])["outputs"]["out"][0].startswith(f"{idle.server.url}/api/connect/files/")  # asked again: links still


def test_a_job_remembers_a_choice_made_by_the_accept_header(idle: Client) -> None:
    done = _finished(idle, 0x112234, headers={"Accept": URL_JSON})
    (url,) = done["outputs"]["out"]
    assert _download(idle, url).startswith(PNG_MAGIC)


def test_a_raw_job_shows_url_links_since_its_bytes_cannot_sit_in_json(idle: Client) -> None:
    done = _finished(idle, 0x112235, {"output": "raw"})
    (url,) = done["outputs"]["out"]
    assert _download(idle, url).startswith(PNG_MAGIC)


def test_get_may_ask_for_another_form_than_the_run_call_chose(idle: Client) -> None:
    done = _finished(idle, 0x112236)  # base64, the default
    (encoded,) = done["outputs"]["out"]
    (url,) = _get(idle, done["id"], "url")["outputs"]["out"]
    assert _download(idle, url) == base64.b64decode(encoded)
    (detailed,) = _get(idle, done["id"], "detailed")["outputs"]["out"]
    assert detailed["type"] == "file" and detailed["mime_type"] == "image/png" and (detailed["width"], detailed["height"]) == (8, 8)
    assert detailed["content"] == encoded
    assert idle.job(done["id"])["outputs"]["out"] == [encoded]  # the override was for that answer only


@pytest.mark.parametrize("output", ["raw", "zip"])
def test_get_refuses_an_output_that_is_not_a_json_form(idle: Client, output: str) -> None:
    done = _finished(idle, 0x112237)
    response = requests.get(f"{idle.api_url}/jobs/{done['id']}", params={"output": output}, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "bad_request" and error["details"] == {"path": "output"} and "'output'" in error["message"]


def test_a_webhook_carries_the_outputs_as_get_shows_them(idle: Client, receiver: FileHost) -> None:
    job = idle.start("steps", {"canvas": {"color": 0x112238}}, {"output": "url", "webhook": receiver.hook})
    (delivery,) = receiver.wait_for(1)
    (url,) = delivery.json()["data"]["outputs"]["out"]
    (encoded,) = _get(idle, job["id"], "base64")["outputs"]["out"]
    assert _download(idle, url) == base64.b64decode(encoded)
