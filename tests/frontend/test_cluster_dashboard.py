"""GET /api/connect/cluster/dashboard in headless Chromium, against a real two-box cluster (two ComfyUIs, one
redis-server, an admin key): the login, the instance cards, the charts filling as jobs run, the queue
and the failures. A screenshot and the console go to artifacts/frontend/ when a test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.client import wait_until
from support.server import prepare, serve
from support.twoboxes import ADMIN, Boxes, env, failing, listing, slow, two_boxes

from .comfy_page import WAIT_MS
from .conftest import _FAILED, ARTIFACTS

RUN = 0.2


@pytest.fixture(scope="module")
def boxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxes]:
    with two_boxes(tmp_path_factory.mktemp("dashboard")) as found:
        found.a.saved("dash/slow", slow(RUN))
        found.a.saved("dash/boom", failing())
        wait_until(lambda: {"dash/slow", "dash/boom"} <= {w["name"] for w in found.b.listing()["workflows"]}, 30, "synced")
        yield found


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        yield page
        assert not [line for line in console if line.startswith("pageerror")], console
    finally:
        if request.node.stash.get(_FAILED, False):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            Path(ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(console))
        context.close()


def test_the_page_asks_for_the_key_then_shows_the_cluster_live(page: Page, boxes: Boxes) -> None:
    page.goto(boxes.a.url + "/api/connect/cluster/dashboard")
    expect(page).to_have_url(re.compile(r"/connect/login\?next="), timeout=WAIT_MS)  # the plugin's login form
    page.fill("input[name=key]", ADMIN)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/api/connect/cluster/dashboard$"), timeout=WAIT_MS)

    cards = page.locator("[data-connect-instance]")
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator('[data-connect-instance="box-a"] h3')).to_contain_text("box-a")
    expect(page.locator('[data-connect-instance="box-b"] [data-field=role]')).to_have_text("worker")
    expect(page.locator('[data-figure="workers"] b')).to_have_text("2")
    expect(page.locator('[data-figure="redis"] b')).to_have_text("up")

    # Jobs on both boxes: the throughput chart counts them, the latency chart draws a line, the failure is listed.
    for _ in range(3):
        boxes.a.run_ok("dash/slow")
    boxes.b.run_ok("dash/slow")
    assert boxes.b.run("dash/boom").status_code >= 400
    wait_until(lambda: sum(m["runs"] for m in listing(boxes.a)["instances"]) == 5, 30, "the heartbeats to carry the runs")
    expect(page.locator('svg[data-chart="throughput"]')).to_have_attribute("data-total", "5", timeout=WAIT_MS)
    ran = sum(1 for m in listing(boxes.a)["instances"] if m["mean_run_seconds"] is not None)  # either worker may run a job
    expect(page.locator('svg[data-chart="latency"] path')).to_have_count(ran, timeout=WAIT_MS)  # one line per box that ran
    expect(page.locator("#failures")).to_contain_text("dash/boom", timeout=WAIT_MS)
    expect(page.locator("#workflows")).to_contain_text("dash/slow")
    failed = next(m["id"] for m in listing(boxes.a)["instances"] if m["failures"])  # whichever worker ran it
    expect(page.locator("#failures")).to_contain_text(failed)
    expect(page.locator(f'[data-connect-instance="{failed}"] [data-field=failures]')).to_have_text("1")

    # Both workers busy: their cards show the running jobs, the queue table connect:jobs with the waiting one.
    running = [boxes.a.start("dash/slow", {"slow": {"seconds": 4.0}}) for _ in range(2)]
    waiting = boxes.a.start("dash/slow")
    for job in running:
        expect(page.locator(f'[data-connect-current="{job["id"]}"]')).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator('[data-connect-instance="box-a"]')).to_have_attribute("data-state", "busy")
    expect(page.locator("#queues tr", has_text="connect:jobs")).to_contain_text("1", timeout=WAIT_MS)
    for job in (*running, waiting):
        boxes.a.until(job["id"], lambda j: j["status"] == "succeeded", "the job to finish")
    expect(page.locator('[data-connect-instance="box-a"]')).to_have_attribute("data-state", "idle", timeout=WAIT_MS)
    wait_until(lambda: sum(m["runs"] for m in listing(boxes.a)["instances"]) == 8, 30, "the heartbeats to carry the runs")


def test_a_box_that_stops_leaves_the_page(page: Page, boxes: Boxes, tmp_path: Path) -> None:
    page.goto(boxes.b.url + "/connect/login?next=/api/connect/cluster/dashboard")
    page.fill("input[name=key]", ADMIN)
    page.click("button[type=submit]")
    expect(page.locator("[data-connect-instance]")).to_have_count(2, timeout=WAIT_MS)
    with serve(prepare(tmp_path / "c"), env(boxes.redis, "box-c", "worker"), key=ADMIN):
        expect(page.locator("[data-connect-instance]")).to_have_count(3, timeout=WAIT_MS)
        expect(page.locator('[data-figure="workers"] b')).to_have_text("3", timeout=WAIT_MS)
    expect(page.locator("[data-connect-instance]")).to_have_count(2, timeout=WAIT_MS)
