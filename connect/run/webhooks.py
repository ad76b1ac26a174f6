"""Tell a caller's URL that its job ended, signed as the Standard Webhooks spec says, retried with backoff.

    POST <url>
    webhook-id: msg_<job id>          the same on every attempt: receivers deduplicate on it
    webhook-timestamp: 1764460800     seconds since the epoch, of this attempt
    webhook-signature: v1,<base64 of HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>
    content-type: application/json

    {"type": "job.succeeded", "timestamp": "2025-11-30T00:00:00.000+00:00", "data": {<the job, with its outputs>}}

The secret is ``CONNECT_WEBHOOK_SECRET`` in the spec's form, ``whsec_<base64 of the key bytes>``. The
URL follows the rules of URL file inputs (http or https; loopback, private and link-local addresses
refused unless allowed), on every attempt and on the address actually connected to. Redirects are
not followed. Any answer but 2xx, or none within the timeout, is retried after 1x, 2x, 4x... the
backoff, at most ``attempts`` times in all.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from ..errors import BadRequest
from ..io.netguard import BlockedAddress, Networks, check_literal_host, connector
from .jobs import WebhookState

log = logging.getLogger("comfyui-connect")
SECRET_PREFIX = "whsec_"
_MAX_URL = 1024
_MAX_DELAY = 300.0


def parse_secret(setting: str) -> bytes | None:
    """'whsec_<base64>' (or bare base64) -> key bytes; '' -> None; anything else raises ValueError."""
    text = setting.strip()
    if not text:
        return None
    encoded = text.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("CONNECT_WEBHOOK_SECRET must be 'whsec_' followed by base64 (Standard Webhooks)") from exc
    if len(key) < 16:
        raise ValueError("CONNECT_WEBHOOK_SECRET is too short: use at least 16 random bytes (24 recommended)")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class WebhookPolicy:
    key: bytes | None
    attempts: int = 5
    backoff: float = 1.0
    timeout: float = 10.0
    allow_private: bool = False
    networks: Networks = ()

    def check_url(self, url: str, where: str = "webhook") -> str:
        """Refuse, at request time, a URL that could never be delivered to."""
        if self.key is None:
            raise BadRequest(
                f"'{where}': webhooks are off on this server; the operator sets CONNECT_WEBHOOK_SECRET to sign them", {"path": where}
            )
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            parsed = None
        if parsed is None or len(url) > _MAX_URL or parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadRequest(f"'{where}' must be an absolute http or https URL of at most {_MAX_URL} characters", {"path": where})
        if not self.allow_private:
            try:
                check_literal_host(parsed.host, self.networks)
            except BlockedAddress as exc:
                raise BadRequest(f"'{where}': {exc} (webhooks follow the rules of URL inputs)", {"path": where}) from None
        return url

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(_MAX_DELAY, self.backoff * 2 ** (attempt - 1)))


async def deliver(
    policy: WebhookPolicy, state: WebhookState, msg_id: str, body: bytes, changed: Callable[[WebhookState], Awaitable[None]]
) -> None:
    """Attempt until delivered or out of attempts; `changed` is told after each attempt."""
    if policy.key is None:
        return
    timeout = aiohttp.ClientTimeout(total=policy.timeout)
    async with aiohttp.ClientSession(connector=connector(policy.allow_private, policy.networks), timeout=timeout) as session:
        while True:
            state.attempts += 1
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": "ComfyUI-Connect",
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(policy.key, msg_id, stamp, body),
            }
            try:
                if not policy.allow_private:  # literal IPs never reach the guarded resolver
                    check_literal_host(URL(state.url).host or "", policy.networks)
                async with session.post(state.url, data=body, headers=headers, allow_redirects=False) as response:
                    state.last_status, state.last_error = response.status, None
                    ok = 200 <= response.status < 300
                    if not ok:
                        state.last_error = f"answered HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                ok, state.last_status, state.last_error = False, None, f"{type(exc).__name__}: {exc}"[:500]
            done = ok or state.attempts >= policy.attempts
            state.state = "delivered" if ok else ("failed" if done else "pending")
            await changed(state)
            if done:
                if not ok:
                    log.warning("ComfyUI-Connect: webhook for %s failed after %d attempts: %s", msg_id, state.attempts, state.last_error)
                return
            await asyncio.sleep(policy.delay(state.attempts))
