"""The servers of the input/output tests (support/suites.py says what each is for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.client import Client
from support.filehost import FileHost
from support.images import png
from support.media import tone, video
from support.server import prepare, serve
from support.suites import IO_KEY, IO_LIMITS, IO_WORKFLOWS


def _serve(root: Path, extra_args: tuple[str, ...] = (), **env: str) -> Iterator[Client]:
    inputs = {"example.png": png(), "example.webm": video([(0, 0, 0)]), "example.flac": tone()}
    base = prepare(root, test_nodes=True, inputs=inputs)
    key = IO_KEY if env.get("CONNECT_API_KEYS") else None
    with serve(base, {"CONNECT_ALLOW_PRIVATE_URLS": "1", **env}, extra_args=extra_args, workflows=IO_WORKFLOWS, key=key) as client:
        yield client


@pytest.fixture(scope="session")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from _serve(tmp_path_factory.mktemp("io"), ("--disable-metadata",), **IO_LIMITS)


@pytest.fixture(scope="session")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    # Files carry ComfyUI's metadata chunks (CONNECT_METADATA=full): proof a file is the one SaveImage wrote.
    yield from _serve(tmp_path_factory.mktemp("io-kept"), CONNECT_KEEP_OUTPUTS="1", CONNECT_FILE_URL_TTL="2", CONNECT_METADATA="full")


@pytest.fixture(scope="session")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    # With an API key: download links must work without one.
    yield from _serve(tmp_path_factory.mktemp("io-expiring"), CONNECT_FILE_URL_TTL="2", CONNECT_API_KEYS=IO_KEY)


@pytest.fixture(scope="session")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    # Stored input files live 2 s after they were last sent; swept twice a second.
    yield from _serve(tmp_path_factory.mktemp("io-short-lived"), CONNECT_INPUT_TTL="2", CONNECT_INPUT_SWEEP="0.5")


@pytest.fixture(scope="session")
def host() -> Iterator[FileHost]:
    files = FileHost()
    yield files
    files.close()
