"""Browser tests: headless Chromium driving the real ComfyUI page, once per frontend version.

    comfy       a real ComfyUI with the plugin (session, one per frontend of FRONTENDS)
    browser     Debian's chromium, driven by playwright (session)
    ui          a fresh page on that ComfyUI, wrapped in ComfyPage (per test; a screenshot and the
                browser console go to artifacts/frontend/ when the test fails)

The default frontend is the one in the venv (1.32.9 for ComfyUI 0.3.75); the others are listed in
requirements/frontends.txt and installed by `scripts/bootstrap --with-test-tools` into .frontends/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from launcher import REPO, ComfyServer, prepare_base
from playwright.sync_api import Browser, ConsoleMessage, Error, Playwright, sync_playwright

from .comfy_page import PLUGIN_URL, ComfyPage

ARTIFACTS = REPO / "artifacts" / "frontend"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _frontends() -> dict[str, Path | None]:
    """Frontend version -> its static folder (None: the one ComfyUI serves by default)."""
    found: dict[str, Path | None] = {version("comfyui-frontend-package"): None}
    for line in (REPO / "requirements" / "frontends.txt").read_text().splitlines():
        if match := re.fullmatch(r"comfyui-frontend-package==(\S+)", line.strip()):
            found[match[1]] = REPO / ".frontends" / match[1] / "comfyui_frontend_package" / "static"
    return found


FRONTENDS = _frontends()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # The `ui` fixture reads this to know whether to keep a screenshot.
    item.stash.setdefault(_FAILED, False)
    if report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="package", params=list(FRONTENDS), ids=[f"frontend-{v}" for v in FRONTENDS])
def comfy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    static = FRONTENDS[request.param]
    extra: list[str] = []
    if static is not None:
        if not (static / "index.html").is_file():
            pytest.fail(f"frontend {request.param} is not installed in {static}: run scripts/bootstrap --with-test-tools")
        extra = ["--front-end-root", str(static)]
    base = prepare_base(tmp_path_factory.mktemp(f"comfy-frontend-{request.param}"))
    server = ComfyServer(base, extra_args=extra)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("CONNECT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(f"no chromium at {executable}: run scripts/bootstrap --with-test-tools (or set CONNECT_CHROMIUM)")
    instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def ui(request: pytest.FixtureRequest, comfy: ComfyServer, browser: Browser) -> Iterator[ComfyPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=comfy.url)
    page = context.new_page()
    console: list[str] = []
    ours: list[str] = []  # errors raised by the plugin's own modules

    def on_console(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")
        if message.type == "error" and PLUGIN_URL in message.location.get("url", ""):
            ours.append(message.text)

    def on_page_error(error: Error) -> None:
        console.append(f"pageerror: {error}\n{error.stack}")
        if PLUGIN_URL in (error.stack or ""):
            ours.append(str(error))

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    comfy_page = ComfyPage(page, comfy.url)
    try:
        comfy_page.open()
        yield comfy_page
        assert ours == [], "the plugin's scripts raised errors in the page"
    finally:
        if request.node.stash.get(_FAILED, False):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
            try:
                page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
            finally:
                (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(console))
                (ARTIFACTS / f"{stem}.comfyui.log").write_text(comfy.log_tail(200))
        context.close()
