"""Webhook signing (checked with the spec's reference package), URL rules, and delivery with retries."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from connect.errors import BadRequest
from connect.io.netguard import parse_networks
from connect.run.jobs import WebhookState
from connect.run.webhooks import WebhookPolicy, deliver, parse_secret, sign

KEY = b"0123456789abcdef0123"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def test_the_signature_is_the_standard_webhooks_one() -> None:
    body = b'{"type": "job.succeeded"}'
    stamp = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": sign(KEY, "msg_1", stamp, body)}
    assert Webhook(SECRET).verify(body, headers) == {"type": "job.succeeded"}
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        pytest.param("", None, id="unset"),
        pytest.param(SECRET, KEY, id="whsec"),
        pytest.param(base64.b64encode(KEY).decode().rstrip("="), KEY, id="bare-unpadded"),
    ],
)
def test_secret_forms(setting: str, expected: bytes | None) -> None:
    assert parse_secret(setting) == expected


@pytest.mark.parametrize("setting", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()])
def test_bad_secrets_are_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="CONNECT_WEBHOOK_SECRET"):
        parse_secret(setting)


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        pytest.param("https://example.com/hook", WebhookPolicy(None), id="webhooks-off"),
        pytest.param("ftp://example.com/hook", WebhookPolicy(KEY), id="scheme"),
        pytest.param("example.com/hook", WebhookPolicy(KEY), id="relative"),
        pytest.param("http://10.0.0.1/hook", WebhookPolicy(KEY), id="private"),
        pytest.param("http://[::1]/hook", WebhookPolicy(KEY), id="loopback-v6"),
        pytest.param("http://2130706433/hook", WebhookPolicy(KEY), id="numeric-loopback"),
        pytest.param("https://example.com/" + "a" * 1100, WebhookPolicy(KEY), id="too-long"),
    ],
)
def test_refused_urls(url: str, policy: WebhookPolicy) -> None:
    with pytest.raises(BadRequest) as caught:
        policy.check_url(url)
    assert caught.value.details == {"path": "webhook"}


def test_accepted_urls() -> None:
    assert WebhookPolicy(KEY).check_url("https://hooks.example.com/x?t=1") == "https://hooks.example.com/x?t=1"
    assert WebhookPolicy(KEY, networks=parse_networks("10.0.0.5/32")).check_url("http://10.0.0.5/h")
    assert WebhookPolicy(KEY, allow_private=True).check_url("http://127.0.0.1:9/h")


def test_backoff_doubles_and_is_capped() -> None:
    policy = WebhookPolicy(KEY, backoff=0.5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert policy.delay(30) == 300.0


def _receiver(statuses: list[int], seen: list[dict[str, Any]]) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        seen.append({"headers": dict(request.headers), "body": await request.read()})
        status = statuses.pop(0) if statuses else 204
        if status == 302:
            raise web.HTTPFound("/elsewhere")
        return web.Response(status=status)

    async def elsewhere(request: web.Request) -> web.Response:
        seen.append({"redirected": True})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_route("*", "/elsewhere", elsewhere)
    return app


async def _deliver(statuses: list[int], attempts: int) -> tuple[WebhookState, list[dict[str, Any]], list[str]]:
    seen: list[dict[str, Any]] = []
    runner = web.AppRunner(_receiver(statuses, seen))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state = WebhookState(f"http://127.0.0.1:{port}/hook")
    changes: list[str] = []

    async def changed(s: WebhookState) -> None:
        changes.append(s.state)

    try:
        await deliver(WebhookPolicy(KEY, attempts=attempts, backoff=0.01, allow_private=True), state, "msg_j", b"{}", changed)
    finally:
        await runner.cleanup()
    return state, seen, changes


def test_delivery_is_retried_until_it_succeeds() -> None:
    state, seen, changes = asyncio.run(_deliver([500, 503], attempts=5))
    assert (state.state, state.attempts, state.last_status) == ("delivered", 3, 204)
    assert changes == ["pending", "pending", "delivered"]
    assert len({d["headers"]["webhook-id"] for d in seen}) == 1
    for delivery in seen:
        Webhook(SECRET).verify(delivery["body"], delivery["headers"])


def test_delivery_gives_up_after_its_attempts_and_never_follows_a_redirect() -> None:
    state, seen, _ = asyncio.run(_deliver([302, 302, 302], attempts=2))
    assert (state.state, state.attempts, state.last_status) == ("failed", 2, 302)
    assert len(seen) == 2 and not any(d.get("redirected") for d in seen)
