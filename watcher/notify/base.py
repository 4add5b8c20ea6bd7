"""The small interface every channel implements, and the message it is handed.

A channel only renders and transmits: it never touches the outbox. It either returns a
`Receipt` (the server's answer, shown by `watcher test-notify`) or raises
`DeliveryError` (retry later) / `PermanentDeliveryError` (retrying cannot help). The
delivery worker decides what that means for the outbox.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watcher.alerts import iso


@dataclass(frozen=True)
class Message:
    """What one send carries: one alert, or a digest of several.

    `alerts` are alert bodies exactly as DESIGN.md "Alerts (contract)" defines them, with
    `also_reported_by` already filled in at send time.
    """

    id: str  # the alert id, or the digest's id: the same on every attempt
    alerts: tuple[dict[str, Any], ...]
    created: float
    digest: bool = False
    test: bool = False  # `watcher test-notify`: clearly marked, never from the outbox
    alert_ids: tuple[str, ...] = field(default=())

    @classmethod
    def single(cls, alert: dict[str, Any], created: float) -> Message:
        return cls(id=alert["id"], alerts=(alert,), created=created, alert_ids=(alert["id"],))

    @classmethod
    def gathered(cls, channel: str, alerts: Sequence[dict[str, Any]], created: float) -> Message:
        ids = tuple(a["id"] for a in alerts)
        return cls(
            id=digest_id(channel, ids),
            alerts=tuple(alerts),
            created=created,
            digest=True,
            alert_ids=ids,
        )

    def body(self) -> dict[str, Any]:
        """The contract JSON body: the alert itself, or `{"type": "digest", …}`."""
        if not self.digest:
            return self.alerts[0]
        return {
            "type": "digest",
            "id": self.id,
            "created": iso(self.created),
            "alerts": list(self.alerts),
        }


def digest_id(channel: str, alert_ids: Sequence[str]) -> str:
    """Stable for the same alerts on the same channel, so a retried digest keeps its id."""
    h = hashlib.sha256(f"digest\x00{channel}".encode())
    for ident in alert_ids:
        h.update(b"\x00" + ident.encode())
    return h.hexdigest()[:24]


@dataclass(frozen=True)
class Receipt:
    """The channel accepted the message; `detail` is what the server said."""

    detail: str


class Channel(ABC):
    """One configured destination (`channels:` entry)."""

    def __init__(self, name: str):
        self.name = name

    @abstractmethod
    async def send(self, message: Message) -> Receipt:
        """Transmit one message now; raise DeliveryError / PermanentDeliveryError."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most channels hold nothing
        """Release connections; the default has none."""
