"""A Python client generated from the live document by a standard generator runs an endpoint."""

from __future__ import annotations

import base64
import importlib
import io
import json
import subprocess
import sys
from typing import Any

import pytest
from PIL import Image
from support.client import Client

pytestmark = pytest.mark.e2e

PACKAGE = "connect_client"


@pytest.fixture(scope="module")
def client_package(api: Client, tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("generated-client")
    (work / "openapi.json").write_text(json.dumps(api.document()))
    # No post hooks: the generated code is used as generated (the default runs ruff over it).
    (work / "config.json").write_text(json.dumps({"post_hooks": []}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json", "--config", "config.json"]
    command += ["--meta", "none", "--output-path", PACKAGE]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_generated_client_runs_an_endpoint_and_gets_its_outputs(client_package: Any, api: Client) -> None:
    run_invert = _module(client_package, "api.workflows.run_invert")
    models = _module(client_package, "models")
    client = client_package.Client(base_url=api.server.url, timeout=client_package.client.httpx.Timeout(120))
    body = models.RunInvertJsonBody(canvas=models.RunInvertJsonBodyCanvasType0(width=16, height=8, color=0x00FF00))
    response = run_invert.sync_detailed(client=client, body=body)
    assert response.status_code == 200, response.content
    assert response.headers["X-Connect-Prompt-Id"]
    [encoded] = response.parsed.output
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        assert image.size == (16, 8)
        assert image.convert("RGB").getpixel((0, 0)) == (255, 0, 255)  # green, inverted


def test_generated_client_sends_multipart_and_chooses_the_delivery(client_package: Any, api: Client) -> None:
    # The multipart body (a JSON `payload` part) and the `output` parameter, as a generator reads them.
    run_invert = _module(client_package, "api.workflows.run_invert")
    models = _module(client_package, "models")
    client = client_package.Client(base_url=api.server.url, timeout=client_package.client.httpx.Timeout(120))
    payload = models.RunInvertFilesBodyPayload(canvas=models.RunInvertFilesBodyPayloadCanvasType0(width=4, height=4))
    response = run_invert.sync_detailed(client=client, body=models.RunInvertFilesBody(payload=payload), output=models.RunInvertOutput.URL)
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"] == "application/vnd.comfyui-connect.url+json"
    [url] = response.parsed.output
    with Image.open(io.BytesIO(client.get_httpx_client().get(url).content)) as image:
        assert image.size == (4, 4)


def test_generated_client_reads_a_contract_error(client_package: Any, api: Client) -> None:
    run_invert = _module(client_package, "api.workflows.run_invert")
    models = _module(client_package, "models")
    client = client_package.Client(base_url=api.server.url)
    response = run_invert.sync_detailed(client=client, body=models.RunInvertJsonBody(canvas=models.RunInvertJsonBodyCanvasType0(width=0)))
    assert response.status_code == 422
    error = response.parsed
    assert isinstance(error, models.PayloadError)
    assert error.error.type_ == "invalid_payload"
    assert [(p.path, p.rule) for p in error.error.details.problems] == [("canvas.width", "minimum")]


def test_generated_client_manages_workflows(client_package: Any, api: Client) -> None:
    list_workflows = _module(client_package, "api.manage.list_workflows")
    listed = list_workflows.sync(client=client_package.Client(base_url=api.server.url))
    assert {"invert", "txt2img"} <= {w.name for w in listed.workflows}


def test_generated_models_carry_the_combo_lists_and_saved_defaults(client_package: Any) -> None:
    models = _module(client_package, "models")
    assert models.RunTxt2ImgJsonBodySamplerType0SamplerName("euler").value == "euler"
    with pytest.raises(ValueError):
        models.RunTxt2ImgJsonBodySamplerType0SamplerName("warp-drive")
    assert models.RunTxt2ImgJsonBodySamplerType0().steps == 20
