"""Retention keeps the database bounded without ever forgetting an item still published."""

from __future__ import annotations

from pathlib import Path

from watcher.config import FeedSpec
from watcher.model import Item
from watcher.store import feeds as feed_store
from watcher.store import items as item_store
from watcher.store import open_database
from watcher.store.maintenance import optimize, prune

DAY = 86400.0


def item(key: str) -> Item:
    return Item(key=key, title=f"title {key}", link=None, published=None, paragraphs=("p",))


def test_prune_keeps_items_still_in_their_feed_and_drops_old_vanished_ones(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "w.db")
    spec = FeedSpec("https://a.example/", None, 600, 30, 10**7)
    feed_store.sync_feeds(db, [spec], 0.0)
    feed = feed_store.feed_by_url(db, spec.url)
    assert feed is not None
    with db.atomic():
        vanished = item_store.insert_item(db, feed.id, item("vanished"), 0.0)
        evergreen = item_store.insert_item(db, feed.id, item("evergreen"), 0.0)
        recent = item_store.insert_item(db, feed.id, item("recent"), 50 * DAY)
    # the feed's latest parse (day 50) still listed "evergreen" and "recent"
    item_store.touch_items(db, [evergreen, recent], 50 * DAY)
    db.execute(
        "INSERT INTO alerts (id, item_id, channel, kind, status, created, next_attempt, payload)"
        " VALUES ('old', ?, 'c', 'new', 'sent', 0, 0, '{}'),"
        " ('pending', ?, 'c', 'new', 'pending', 0, 0, '{}')",
        (vanished, vanished),
    )
    result = prune(db, now=60 * DAY, retention=30 * DAY)
    remaining = {row[0] for row in db.execute("SELECT key FROM items")}
    assert remaining == {"evergreen", "recent"}
    assert (result.items, result.alerts) == (1, 1)
    # a pending alert is never pruned, even when its item is gone
    assert [r[0] for r in db.execute("SELECT id FROM alerts")] == ["pending"]
    optimize(db)
