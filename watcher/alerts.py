"""Building alert bodies (DESIGN.md "Alerts (contract)"): pure, no I/O.

An alert is built once, when its item is recorded, and stored as JSON in the outbox; the
delivery side only adds what can change later ("also reported by") and renders it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watcher.model import Item


def _digest(*parts: str, length: int = 24) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:length]


def item_public_id(feed_url: str, item_key: str) -> str:
    """A stable id for an item, independent of database row ids."""
    return _digest(feed_url, item_key, length=16)


def alert_id(feed_url: str, item_key: str, content_hash: str, channel: str) -> str:
    """Stable per (item version, channel): every attempt and every rebuild has the same id."""
    return _digest(feed_url, item_key, content_hash, channel)


def iso(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TopicHit:
    """One matched topic, with the explanation the reader sees."""

    name: str
    title: str
    terms: Sequence[str]
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "terms": list(self.terms),
            "snippet": self.snippet,
        }


def build_alert(
    *,
    alert: str,
    kind: str,
    created: float,
    item: Item,
    new_paragraphs: Sequence[str],
    feed_name: str,
    feed_url: str,
    topics: Sequence[TopicHit],
    thread: str | None = None,
) -> dict[str, Any]:
    """The webhook-contract body of one alert, without `also_reported_by` filled in yet."""
    body: dict[str, Any] = {
        "type": "alert",
        "id": alert,
        "kind": kind,
        "created": iso(created),
        "topics": [t.to_json() for t in topics],
        "item": {
            "id": item_public_id(feed_url, item.key),
            "title": item.title,
            "link": item.link,
            "published": iso(item.published),
            "feed": {"name": feed_name, "url": feed_url},
            "paragraphs": list(new_paragraphs),
        },
        "also_reported_by": [],
    }
    if thread and thread != alert:
        body["thread"] = thread  # the first alert about this item on this channel
    return body
