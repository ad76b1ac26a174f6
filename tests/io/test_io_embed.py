"""What delivered files reveal (README "What output files reveal"), read back from the files themselves.

Two owners share one ComfyUI: `team-a/private` keeps a secret model alive with `!cache`, so every
prompt the plugin queues carries a copy of its loader; `team-b/*` are unrelated endpoints, one per
kind of output file. Each file team B gets back is decoded (PNG chunks, WEBP EXIF, PyAV container tags,
GLB `asset.extras`) and checked: with `full` it carries team B's own prompt and UI workflow; with
`none` nothing; never team A's loader or the plugin's `connect_run` input. The `expiring` server has
ComfyUI's metadata on and does not keep outputs (so `connect_run` is added to every output node).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import av
import pytest
import requests
from PIL import Image
from support.client import Client, cached_nodes
from support.models import write_compact_model
from support.suites import IO_WORKFLOWS as WORKFLOWS
from support.workflows import node

pytestmark = pytest.mark.e2e


def canvas(node_id: str, color: int, batch: int = 1, size: int = 16) -> dict[str, Any]:
    return {node_id: node("EmptyImage", f"Canvas $canvas{node_id}", width=size, height=size, batch_size=batch, color=color)}


SECRET_MODEL = "team-a-secret-upscaler.safetensors"
LEAKS = (b"connect-cache", b"connect_run", SECRET_MODEL.encode())
TEAM_A = {
    "1": node("EmptyImage", "$canvas", width=4, height=4, batch_size=1, color=0),
    "2": node("UpscaleModelLoader", "Loader [!cache]", model_name=SECRET_MODEL),
    "3": node("ImageUpscaleWithModel", "", upscale_model=["2", 0], image=["1", 0]),
    "4": node("SaveImage", "#out", images=["3", 0], filename_prefix="team-a"),
}
# One endpoint per kind of file; each `#` output here produces files (text: see its own test).
KINDS = {
    "png": {**canvas("1", 0x3366FF), "2": node("SaveImage", "#out", images=["1", 0], filename_prefix="team-b")},
    "webp": WORKFLOWS["io-webp"],
    "apng": WORKFLOWS["io-apng"],
    "webm": WORKFLOWS["io-webm"],
    "mp4": WORKFLOWS["io-mp4"],
    "flac": WORKFLOWS["io-tone"],
    "glb": WORKFLOWS["io-mesh"],
}


UI_WORKFLOW = {"last_node_id": 2, "nodes": [{"id": 1, "type": "EmptyImage"}], "links": [], "extra": {"owner": "team-b"}, "version": 0.4}


def save(io: Client, name: str, prompt: dict[str, Any], **extra: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {io.key}"} if io.key else {}
    response = requests.put(f"{io.url}/api/connect/workflows/{name}", json={"prompt": prompt, **extra}, headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def teams(expiring: Client) -> Iterator[Client]:
    write_compact_model(expiring.base / "models" / "upscale_models" / SECRET_MODEL, seed=3)
    assert save(expiring, "team-a/private", TEAM_A)["cached"] == ["2"]
    for kind, prompt in KINDS.items():
        for mode in ("full", "none"):
            save(expiring, f"team-b/{kind}-{mode}", prompt, workflow=UI_WORKFLOW, metadata=mode)
    yield expiring
    requests.delete(f"{expiring.url}/api/connect/workflows/team-a/private", headers={"Authorization": f"Bearer {expiring.key}"}, timeout=30)


# -- reading what a file embeds -------------------------------------------------------------------------
def embedded(data: bytes) -> dict[str, str]:
    """Every text a file carries as metadata, by lowercase key, as the file's own format stores it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_texts(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        with Image.open(BytesIO(data)) as image:
            exif = image.getexif()
        # ComfyUI writes "key:value" into EXIF Model (0x0110), Make (0x010F) and the tags below it.
        return dict(str(value).split(":", 1) for value in exif.values() if isinstance(value, str) and ":" in value)
    if data[:4] == b"glTF":
        (length,) = struct.unpack_from("<I", data, 12)
        gltf = json.loads(data[20 : 20 + length])
        return {k.lower(): v for k, v in gltf["asset"].get("extras", {}).items()}
    with av.open(BytesIO(data)) as container:
        tags = dict(container.metadata)
        for stream in container.streams:
            tags.update(stream.metadata)
    return {k.lower(): v for k, v in tags.items()}


def _png_texts(data: bytes) -> dict[str, str]:
    # tEXt chunks (SaveImage) and ComfyUI's own `comf` chunks after the image data (SaveAnimatedPNG).
    texts, at = {}, 8
    while at < len(data):
        (size,) = struct.unpack_from(">I", data, at)
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        if kind in (b"tEXt", b"comf"):
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1").lower()] = value.decode("latin-1")
        at += 12 + size
    return texts


def files_of(io: Client, name: str, output: str) -> list[bytes]:
    response = io.run(name, output=output)
    assert response.status_code == 200, response.text[:2000]
    if output == "raw":
        return [response.content]
    items = [item for output_items in response.json().values() for item in output_items]
    if output == "url":
        return [requests.get(url, timeout=30).content for url in items]
    if output == "detailed":
        return [base64.b64decode(item["content"]) for item in items]
    return [base64.b64decode(item) for item in items]


def assert_nothing_foreign(data: bytes) -> None:
    for leak in LEAKS:
        assert leak not in data, f"{leak!r} found in a delivered file"


# -- the proof ------------------------------------------------------------------------------------------
def test_every_queued_prompt_carries_team_as_loader(teams: Client) -> None:
    """The setting the leak came from: team B's own run holds team A's `!cache` loader and `connect_run`."""
    response = teams.run("team-b/png-full")
    assert response.status_code == 200, response.text
    queued = teams.history(response.headers["X-Connect-Prompt-Id"])["prompt"][2]
    keepalive = [n for n in queued if n.startswith("connect-cache-")]
    assert keepalive and queued[keepalive[0]]["inputs"]["model_name"] == SECRET_MODEL
    assert "connect_run" in queued["2"]["inputs"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_full_embeds_the_endpoints_own_prompt_and_ui_workflow(teams: Client, kind: str) -> None:
    files = files_of(teams, f"team-b/{kind}-full", "detailed")
    assert files
    for data in files:
        assert_nothing_foreign(data)
        found = embedded(data)
        assert json.loads(found["prompt"]) == KINDS[kind], found.get("prompt")
        assert json.loads(found["workflow"]) == UI_WORKFLOW


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_none_embeds_no_generation_metadata(teams: Client, kind: str) -> None:
    for data in files_of(teams, f"team-b/{kind}-none", "detailed"):
        assert_nothing_foreign(data)
        found = embedded(data)
        assert "prompt" not in found and "workflow" not in found, found
        assert b"EmptyImage" not in data and b"team-b" not in data


@pytest.mark.parametrize("output", ["base64", "url", "detailed", "raw"])
@pytest.mark.parametrize("mode", ["full", "none"])
def test_every_delivery_mode_hands_over_the_same_clean_file(teams: Client, output: str, mode: str) -> None:
    (data,) = files_of(teams, f"team-b/png-{mode}", output)
    assert_nothing_foreign(data)
    assert ("prompt" in embedded(data)) is (mode == "full")


def test_the_server_default_is_none_and_describe_says_so(teams: Client) -> None:
    described = save(teams, "team-b/png-default", KINDS["png"], workflow=UI_WORKFLOW)
    assert (described["metadata"], described["embeds"]) == (None, "none")
    (data,) = files_of(teams, "team-b/png-default", "raw")
    assert embedded(data) == {}
    # Saved again without `metadata` (as ComfyUI's UI saves): the owner's choice stays.
    save(teams, "team-b/png-default", KINDS["png"], metadata="prompt")
    described = save(teams, "team-b/png-default", KINDS["png"])
    assert (described["metadata"], described["embeds"]) == ("prompt", "prompt")
    (data,) = files_of(teams, "team-b/png-default", "raw")
    assert set(embedded(data)) == {"prompt"}


def test_text_outputs_and_the_job_record_carry_nothing_foreign(teams: Client) -> None:
    save(teams, "team-b/text-full", WORKFLOWS["io-text"], metadata="full")
    response = teams.run("team-b/text-full", output="detailed")
    assert response.status_code == 200, response.text
    job = requests.get(
        f"{teams.url}/api/connect/jobs/{response.headers['X-Connect-Job-Id']}", headers={"Authorization": f"Bearer {teams.key}"}, timeout=30
    )
    assert job.status_code == 200, job.text
    for body in (response.content, job.content):
        assert_nothing_foreign(body)


def test_a_bad_mode_is_refused_when_saved(teams: Client) -> None:
    headers = {"Authorization": f"Bearer {teams.key}"}
    response = requests.put(
        f"{teams.url}/api/connect/workflows/team-b/odd", json={"prompt": KINDS["png"], "metadata": "all"}, headers=headers, timeout=30
    )
    assert response.status_code == 400 and response.json()["error"]["details"]["path"] == "metadata", response.text


def test_kept_outputs_come_from_the_cache_only_when_made_with_the_same_metadata(kept: Client) -> None:
    """CONNECT_KEEP_OUTPUTS=1: ComfyUI's cache may answer the output node, but its key ignores what the node embeds."""
    prompt = {**canvas("1", 0x123456), "2": node("SaveImage", "#out", images=["1", 0], filename_prefix="kept-embed")}
    twin = {**prompt, "2": node("SaveImage", "Team A's own #out", images=["1", 0], filename_prefix="kept-embed")}

    def run(name: str) -> tuple[dict[str, str], list[str]]:
        response = kept.run(name, output="raw")
        assert response.status_code == 200, response.text
        return embedded(response.content), cached_nodes(kept.history(response.headers["X-Connect-Prompt-Id"]))

    save(kept, "kept/a", twin, metadata="full")
    found, _ = run("kept/a")
    assert json.loads(found["prompt"]) == twin
    # The same graph under another endpoint, with other titles: its own file, not A's from the cache.
    save(kept, "kept/b", prompt, metadata="full")
    found, _ = run("kept/b")
    assert json.loads(found["prompt"]) == prompt
    found, cached = run("kept/b")
    assert json.loads(found["prompt"]) == prompt and "2" in cached  # identical: answered from the cache
    # The owner turns metadata off: the next identical call gets a file without it.
    save(kept, "kept/b", prompt, metadata="none")
    found, cached = run("kept/b")
    assert found == {} and "2" not in cached
