"""The schema's history. Append only: never edit a migration that has shipped.

Each migration runs in its own transaction and bumps `PRAGMA user_version`, so a database
from any earlier version is brought up to date on open, and a crash mid-migration leaves
the previous version intact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _initial(db: sqlite_utils.Database) -> None:
    """Feeds with their polling state, and the items they carried."""
    db.executescript(
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            config_url TEXT NOT NULL UNIQUE,   -- the URL as written in the config
            url TEXT NOT NULL,                 -- where it is fetched now (after 301/308)
            name TEXT,                         -- the config's name, else the feed's title
            title TEXT,                        -- the feed's own title
            status TEXT NOT NULL DEFAULT 'active',  -- active | gone (410) | removed
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            created REAL NOT NULL,
            last_poll REAL,
            last_success REAL,
            next_due REAL,
            failures INTEGER NOT NULL DEFAULT 0,
            failing_since REAL,
            last_error TEXT,
            last_warning TEXT,
            polls INTEGER NOT NULL DEFAULT 0,
            items_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
            key TEXT NOT NULL,                 -- guid:/link:/hash: identity within the feed
            title TEXT NOT NULL,
            link TEXT,
            published REAL,
            updated REAL,
            author TEXT,
            categories TEXT NOT NULL DEFAULT '[]',   -- JSON list
            paragraphs TEXT NOT NULL DEFAULT '[]',   -- JSON list, as last seen
            content_hash TEXT NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            UNIQUE (feed_id, key)
        );
        CREATE INDEX items_first_seen ON items(first_seen);
        CREATE INDEX items_last_seen ON items(last_seen);
        """
    )


def _outbox(db: sqlite_utils.Database) -> None:
    """Alerts waiting for or done with delivery, and republication links.

    An alert row is written in the same transaction as the item it is about, so an item
    is never recorded without its alerts (nor the reverse).
    """
    db.executescript(
        """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,               -- stable: the same on every attempt
            item_id INTEGER REFERENCES items(id) ON DELETE SET NULL,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,                -- new | update | test | health
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | dead
            created REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL,
            last_error TEXT,
            sent_at REAL,
            payload TEXT NOT NULL              -- JSON: the alert body, as of creation
        );
        CREATE INDEX alerts_due ON alerts(status, channel, next_attempt);
        CREATE INDEX alerts_created ON alerts(created);
        CREATE TABLE republications (
            original_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            created REAL NOT NULL,
            PRIMARY KEY (original_id, item_id)
        ) WITHOUT ROWID;
        """
    )


def _dedup_fingerprints(db: sqlite_utils.Database) -> None:
    """Paragraph and title fingerprints, first sighting only (watcher/dedup/store.py).

    No text: a 64-bit exact hash, the word-pair count, a 32-byte MinHash sketch and five
    31-bit LSH band keys (NULL when a text is too short for that band). Each band column
    has its own index (exact repeats share every band, so `exact` needs none), so a
    lookup is a few index probes at any table size.
    """
    bands = [f"band{i}" for i in range(5)]
    db.execute(
        "CREATE TABLE dedup_fingerprints ("
        " id INTEGER PRIMARY KEY,"
        " item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        " kind INTEGER NOT NULL,"  # 0 paragraph, 1 title
        " first_seen INTEGER NOT NULL,"  # unix seconds
        " exact INTEGER NOT NULL,"
        " shingles INTEGER NOT NULL,"
        " sketch BLOB NOT NULL, " + ", ".join(f"{b} INTEGER" for b in bands) + ")"
    )
    for b in bands:
        db.execute(
            f"CREATE INDEX dedup_fingerprints_{b} ON dedup_fingerprints({b}) WHERE {b} IS NOT NULL"
        )
    db.execute("CREATE INDEX dedup_fingerprints_item ON dedup_fingerprints(item_id)")
    db.execute("CREATE INDEX dedup_fingerprints_first_seen ON dedup_fingerprints(first_seen)")


def _feed_health(db: sqlite_utils.Database) -> None:
    """Adaptive polling and feed health (watcher/polling.py, watcher/health.py).

    Per feed: the interval chosen at the last poll and why, the feed's own ttl hint, what
    its publish history says (typical and longest gap, when an item last appeared), and
    its health episode (state, since when, whether an alert went out). `heartbeat` is one
    row the daemon rewrites to prove the database is writable (`/healthz`).
    """
    for column in (
        "poll_interval REAL",  # seconds until the next poll, as last chosen (no jitter)
        "poll_basis TEXT",  # why: fixed | auto | ttl | max-age | expires | max_interval
        "ttl_hint REAL",  # <ttl> / sy:updatePeriod of the last parsed body, seconds
        "typical_gap REAL",  # median gap between recent publications, seconds
        "long_gap REAL",  # longest gap in the publish history, seconds
        "gap_count INTEGER NOT NULL DEFAULT 0",  # gaps the two above were learned from
        "last_item_at REAL",  # when a new item last appeared (first_seen)
        "history_at REAL",  # when the publish history was last summarised
        "health_state TEXT NOT NULL DEFAULT 'ok'",  # ok | failing | stale | gone
        "health_since REAL",
        "health_alerted INTEGER NOT NULL DEFAULT 0",  # this episode's alert was queued
        "health_reason TEXT",
    ):
        db.execute(f"ALTER TABLE feeds ADD COLUMN {column}")
    db.execute("CREATE INDEX items_feed_first_seen ON items(feed_id, first_seen)")
    db.execute("CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL)")


MIGRATIONS: list[Migration] = [
    Migration(1, "feeds and items", _initial),
    Migration(2, "alert outbox and republication links", _outbox),
    Migration(3, "dedup fingerprints", _dedup_fingerprints),
    Migration(4, "adaptive polling and feed health", _feed_health),
]
