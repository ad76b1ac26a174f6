"""The session server of the "safe to expose" tests (support/suites.py has its keys, limits and endpoints).

root/base/       ComfyUI's --base-directory (the plugin's store is base/user/connect/workflows)
root/outside/    files that no request may read, change or create anything next to
root/keys.txt    the CONNECT_API_KEYS_FILE
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.client import Client
from support.filehost import FileHost
from support.images import png
from support.server import prepare, serve
from support.suites import ADMIN, KEYS_FILE, SAFETY_ENV, SAFETY_WORKFLOWS


@pytest.fixture(scope="session")
def safe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    root = tmp_path_factory.mktemp("safety")
    base = prepare(root / "base", test_nodes=True, inputs={"example.png": png((10, 20, 30))})
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png((1, 2, 3)))
    (outside / "victim.json").write_text('{"untouched": true}')
    keys_file = root / "keys.txt"
    keys_file.write_text(KEYS_FILE)
    with serve(base, {**SAFETY_ENV, "CONNECT_API_KEYS_FILE": str(keys_file)}, workflows=SAFETY_WORKFLOWS, key=ADMIN) as client:
        yield client


@pytest.fixture
def idle(safe: Client) -> Iterator[Client]:
    """The server with nothing queued before and after the test (faults must not leak into the next one)."""
    safe.wait_idle()
    yield safe
    safe.clear()


@pytest.fixture(scope="session")
def files_host(safe: Client) -> Iterator[FileHost]:
    """Test files and hostile redirects on 127.0.0.2, the one private address CONNECT_URL_ALLOW_NETWORKS lets through."""
    host = FileHost("127.0.0.2")
    image, big = png((200, 100, 50)), b"\0" * 400_000
    host.serve("/img.png", image, content_type="image/png")
    host.serve("/slow.png", image, content_type="image/png", delay=5.0)  # over CONNECT_URL_TIMEOUT=2
    host.serve("/big.png", big, content_type="image/png")
    host.serve("/big-unsized.png", big, content_type="image/png", sized=False)
    redirects = {
        "/to-loopback": f"http://127.0.0.1:{host.port}/img.png",
        "/to-localhost": f"http://localhost:{host.port}/img.png",
        "/to-comfyui": f"{safe.url}/api/connect/health",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-file": "file:///etc/passwd",
        "/to-image": "/img.png",
        "/loop": "/loop",
    }
    for path, location in redirects.items():
        host.redirect(path, location)
    yield host
    host.close()
