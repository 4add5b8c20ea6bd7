"""The webhook channel: one HTTP POST per message, signed when a `secret` is set.

Body (`format: json`) is DESIGN.md "Alerts (contract)"; `slack`, `discord` and `ntfy`
produce those services' own message bodies. 2xx is success; 408, 429, 5xx and network
errors are retried (Retry-After honoured); any other answer is permanent.

Webhook URLs often carry a token in their path (Slack, Discord), so errors name only the
scheme and host; header values and the secret are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from watcher import __version__
from watcher.config.models import WebhookChannel as WebhookSettings
from watcher.connpool import pooled_client
from watcher.errors import DeliveryError, PermanentDeliveryError
from watcher.notify import render
from watcher.notify.base import Channel, Message, Receipt

RETRYABLE_STATUS = frozenset({408, 425, 429})
SIGNATURE_HEADER = "X-Watcher-Signature"
DELIVERY_HEADER = "X-Watcher-Delivery"


def make_http_client(
    *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 15.0
) -> httpx.AsyncClient:
    """The one place an HTTP client for delivery is built (tests pass `transport=`).

    Redirects are not followed: a POST that is redirected is a configuration problem to
    report, not something to replay at another address. Each channel sends one request at
    a time, so the pool (watcher.connpool) needs no cap of its own.
    """
    options: dict[str, Any] = {
        "timeout": timeout,
        "follow_redirects": False,
        "headers": {"User-Agent": f"watcher/{__version__} (alert delivery)"},
    }
    if transport is not None:
        return httpx.AsyncClient(transport=transport, **options)
    return pooled_client(httpx.Limits(), **options)


def encode_json(body: Any) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: float = 300
) -> bool:
    """What a receiver does: check the MAC, and that the timestamp is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if now is not None and abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def redact_url(url: str) -> str:
    """scheme://host[:port] only: paths and queries of webhook URLs hold tokens."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class WebhookChannel(Channel):
    def __init__(
        self,
        name: str,
        settings: WebhookSettings,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(name)
        self.settings = settings
        self.client = client
        self.clock = clock
        self.where = redact_url(settings.url)

    def request_for(self, message: Message, now: float) -> tuple[str, dict[str, str], bytes]:
        """(url, headers, body) of the POST for this message."""
        url = self.settings.url
        fmt = self.settings.format
        if fmt == "slack":
            payload = render.slack_body(message)
        elif fmt == "discord":
            payload = render.discord_body(message)
        elif fmt == "ntfy":
            url, topic = render.ntfy_topic_url(url)
            payload = render.ntfy_body(message, topic)
        else:
            payload = message.body()
        body = encode_json(payload)
        headers = dict(self.settings.headers)
        headers["Content-Type"] = "application/json"
        headers[DELIVERY_HEADER] = message.id
        if self.settings.secret is not None:
            secret = self.settings.secret.get_secret_value()
            headers[SIGNATURE_HEADER] = signature(secret, int(now), body)
        return url, headers, body

    async def send(self, message: Message) -> Receipt:
        now = self.clock()
        url, headers, body = self.request_for(message, now)
        try:
            response = await self.client.post(
                url, content=body, headers=headers, timeout=self.settings.timeout
            )
        except httpx.TimeoutException:
            raise DeliveryError(
                self.name, f"{self.where} did not answer within {self.settings.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            reason = str(exc).replace(self.settings.url, self.where) or type(exc).__name__
            raise DeliveryError(self.name, f"cannot reach {self.where}: {reason}") from None
        return self._judge(response, now)

    def _judge(self, response: httpx.Response, now: float) -> Receipt:
        status = response.status_code
        said = render.one_line(response.text, 200)
        answer = f"HTTP {status} {response.reason_phrase}".strip()
        if said:
            answer += f": {said}"
        if 200 <= status < 300:
            return Receipt(f"{self.where} answered {answer}")
        if status in RETRYABLE_STATUS or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            raise DeliveryError(self.name, f"{self.where} answered {answer}", retry_after)
        if 300 <= status < 400:
            answer += " (redirects are not followed: point `url:` at the final address)"
        raise PermanentDeliveryError(self.name, f"{self.where} refused: {answer}")
