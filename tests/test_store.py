"""The SQLite store: WAL, migrations, and feed state bookkeeping on a real file."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config import FeedSpec
from watcher.errors import StoreError
from watcher.store import feeds as feed_store
from watcher.store import open_database
from watcher.store.db import schema_version
from watcher.store.migrations import MIGRATIONS


def spec(url: str, name: str | None = None) -> FeedSpec:
    return FeedSpec(url=url, name=name, interval=600, timeout=30, max_bytes=10_000_000)


def test_database_is_created_in_wal_mode_at_the_latest_version(tmp_path: Path) -> None:
    db = open_database(tmp_path / "var" / "w.db")
    assert (tmp_path / "var" / "w.db").exists()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == MIGRATIONS[-1].version
    assert {"feeds", "items", "alerts"} <= set(db.table_names())


def test_reopening_does_not_migrate_again_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = open_database(path)
    feed_store.sync_feeds(db, [spec("https://a.example/rss")], now=100.0)
    db.close()
    db = open_database(path)
    assert [f.config_url for f in feed_store.all_feeds(db)] == ["https://a.example/rss"]


def test_a_database_from_a_newer_watcher_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = open_database(path)
    db.execute(f"PRAGMA user_version = {MIGRATIONS[-1].version + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this watcher knows"):
        open_database(path)


def test_sync_adds_new_feeds_and_marks_dropped_ones_removed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "w.db")
    feed_store.sync_feeds(db, [spec("https://a.example/"), spec("https://b.example/")], 10.0)
    feed_store.sync_feeds(db, [spec("https://b.example/", "B")], 20.0)
    states = {f.config_url: f for f in feed_store.all_feeds(db, include_removed=True)}
    assert states["https://a.example/"].status == feed_store.REMOVED
    assert states["https://b.example/"].status == feed_store.ACTIVE
    assert states["https://b.example/"].name == "B"
    assert [f.config_url for f in feed_store.all_feeds(db)] == ["https://b.example/"]
    # a feed that comes back is active again, with its history
    feed_store.sync_feeds(db, [spec("https://a.example/"), spec("https://b.example/")], 30.0)
    assert feed_store.feed_by_url(db, "https://a.example/").status == feed_store.ACTIVE


def test_failures_count_up_and_a_success_resets_them(tmp_path: Path) -> None:
    db = open_database(tmp_path / "w.db")
    feed_store.sync_feeds(db, [spec("https://a.example/")], 0.0)
    feed = feed_store.feed_by_url(db, "https://a.example/")
    feed_store.record_failure(db, feed.id, now=10.0, error="HTTP 500", next_due=70.0)
    feed_store.record_failure(db, feed.id, now=70.0, error="HTTP 503", next_due=190.0)
    failing = feed_store.feed_by_id(db, feed.id)
    assert (failing.failures, failing.failing_since, failing.last_error) == (2, 10.0, "HTTP 503")
    assert feed_store.due_feeds(db, 100.0) == []
    assert [f.id for f in feed_store.due_feeds(db, 190.0)] == [feed.id]
    feed_store.record_success(
        db, feed.id, now=200.0, next_due=800.0, etag='"v1"', last_modified=None, body_hash="h"
    )
    ok = feed_store.feed_by_id(db, feed.id)
    assert (ok.failures, ok.failing_since, ok.last_error, ok.etag) == (0, None, None, '"v1"')
    assert ok.last_success == 200.0 and not ok.never_polled_ok


def test_gone_feeds_are_never_due(tmp_path: Path) -> None:
    db = open_database(tmp_path / "w.db")
    feed_store.sync_feeds(db, [spec("https://a.example/")], 0.0)
    feed = feed_store.feed_by_url(db, "https://a.example/")
    feed_store.record_failure(db, feed.id, now=1.0, error="HTTP 410", next_due=None, gone=True)
    assert feed_store.feed_by_id(db, feed.id).status == feed_store.GONE
    assert feed_store.due_feeds(db, 10**12) == []
