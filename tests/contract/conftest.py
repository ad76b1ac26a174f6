"""A real ComfyUI with the plugin for the contract tests, with the workflows they run saved into it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.client import Client
from support.server import prepare, serve
from support.workflows import TXT2IMG, invert_prompt


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with serve(prepare(tmp_path_factory.mktemp("contract-comfy")), workflows={"txt2img": TXT2IMG, "invert": invert_prompt()}) as client:
        yield client
