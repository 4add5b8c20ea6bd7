"""Alerts in the outbox without the pipeline: rows inserted the way the pipeline does.

db = open_database(tmp_path / "w.db")
ident = queue_alert(db, channel="hook", title="Talks resume", created=T0)
settings = make_settings({"hook": {"type": "webhook", "url": receiver.url()}})
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from watcher.alerts import TopicHit, alert_id, build_alert
from watcher.config.models import Settings
from watcher.model import Item
from watcher.store import outbox

T0 = 1_750_000_000.0  # a fixed "now" (2025-06-15 15:06:40 UTC)
FEED_URL = "https://news.example.org/world/rss.xml"


def make_settings(channels: dict[str, Any], **delivery: Any) -> Settings:
    data: dict[str, Any] = {"channels": channels}
    if delivery:
        data["delivery"] = delivery
    return Settings.model_validate(data)


def insert_feed(db: sqlite_utils.Database, url: str = FEED_URL, name: str = "Example World") -> int:
    existing = db.execute("SELECT id FROM feeds WHERE config_url = ?", (url,)).fetchone()
    if existing:
        return existing[0]
    cursor = db.execute(
        "INSERT INTO feeds (config_url, url, name, created) VALUES (?, ?, ?, ?)",
        (url, url, name, T0),
    )
    return cursor.lastrowid


def insert_item(
    db: sqlite_utils.Database,
    *,
    key: str,
    title: str,
    link: str | None = None,
    feed_url: str = FEED_URL,
    feed_name: str = "Example World",
) -> int:
    feed_id = insert_feed(db, feed_url, feed_name)
    cursor = db.execute(
        "INSERT INTO items (feed_id, key, title, link, content_hash, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (feed_id, key, title, link, key, T0, T0),
    )
    return cursor.lastrowid


def queue_alert(
    db: sqlite_utils.Database,
    *,
    channel: str,
    title: str = "Russian and Ukrainian delegations meet in Istanbul",
    created: float = T0,
    key: str | None = None,
    kind: str = "new",
    item_id: int | None = None,
    thread: str | None = None,
    link: str | None = "https://news.example.org/world/istanbul-talks",
    paragraphs: Sequence[str] = (
        "Delegations from Russia and Ukraine met in Istanbul on Friday for the first direct "
        "talks in three years.",
    ),
    topics: Sequence[TopicHit] = (
        TopicHit(
            "istanbul-talks",
            "Istanbul peace talks",
            ["istanbul", "talks"],
            "…met in Istanbul on Friday for the first direct talks…",
        ),
    ),
    published: datetime | None = datetime(2025, 6, 15, 14, 30, tzinfo=UTC),
) -> str:
    """Queue one alert as the pipeline would; returns its id."""
    key = key or f"guid:{title}:{created}"
    item = Item(key=key, title=title, link=link, published=published, paragraphs=tuple(paragraphs))
    ident = alert_id(FEED_URL, key, item.content_hash + kind, channel)
    payload = build_alert(
        alert=ident,
        kind=kind,
        created=created,
        item=item,
        new_paragraphs=list(paragraphs),
        feed_name="Example World",
        feed_url=FEED_URL,
        topics=list(topics),
        thread=thread,
    )
    assert outbox.insert_alert(
        db,
        alert_id=ident,
        item_id=item_id,
        channel=channel,
        kind=kind,
        created=created,
        payload=payload,
    )
    return ident


def status_of(db: sqlite_utils.Database, ident: str) -> outbox.OutboxAlert:
    alert = outbox.get_alert(db, ident)
    assert alert is not None
    return alert
