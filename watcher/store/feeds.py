"""The `feeds` table: which feeds exist and where each stands in its polling life."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import sqlite_utils

from watcher.config import FeedSpec

ACTIVE, GONE, REMOVED = "active", "gone", "removed"


@dataclass(frozen=True)
class FeedState:
    """One row of `feeds`, as the pipeline and `watcher status` see it."""

    id: int
    config_url: str
    url: str
    name: str | None
    title: str | None
    status: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    created: float
    last_poll: float | None
    last_success: float | None
    next_due: float | None
    failures: int
    failing_since: float | None
    last_error: str | None
    last_warning: str | None
    polls: int
    items_seen: int
    # migration 4: adaptive polling and health (watcher/polling.py, watcher/health.py)
    poll_interval: float | None = None
    poll_basis: str | None = None
    ttl_hint: float | None = None
    typical_gap: float | None = None
    long_gap: float | None = None
    gap_count: int = 0
    last_item_at: float | None = None
    history_at: float | None = None
    health_state: str = "ok"
    health_since: float | None = None
    health_alerted: bool = False
    health_reason: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.title or self.config_url

    @property
    def never_polled_ok(self) -> bool:
        """True until the first successful poll: that one is the feed's backfill."""
        return self.last_success is None


_COLUMNS = ", ".join(f.name for f in fields(FeedState))


def _state(row: tuple) -> FeedState:
    return FeedState(*row)


def sync_feeds(db: sqlite_utils.Database, specs: Iterable[FeedSpec], now: float) -> None:
    """Make the table match the config: add new feeds, mark dropped ones `removed`.

    A removed feed keeps its rows (items, fingerprints) so re-adding it does not replay
    its backlog as new; a feed that is back becomes active again.
    """
    wanted = {spec.url: spec for spec in specs}
    with db.atomic():
        existing = {row[0]: row[1] for row in db.execute("SELECT config_url, status FROM feeds")}
        for url, spec in wanted.items():
            if url not in existing:
                db.execute(
                    "INSERT INTO feeds (config_url, url, name, created, next_due)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (url, url, spec.name, now, now),
                )
            else:
                db.execute(
                    "UPDATE feeds SET name = ?, status = CASE WHEN status = ? THEN ?"
                    " ELSE status END WHERE config_url = ?",
                    (spec.name, REMOVED, ACTIVE, url),
                )
        for url, status in existing.items():
            if url not in wanted and status != REMOVED:
                db.execute("UPDATE feeds SET status = ? WHERE config_url = ?", (REMOVED, url))


def all_feeds(db: sqlite_utils.Database, *, include_removed: bool = False) -> list[FeedState]:
    where = "" if include_removed else f"WHERE status != '{REMOVED}'"
    return [_state(r) for r in db.execute(f"SELECT {_COLUMNS} FROM feeds {where} ORDER BY id")]


def feed_by_url(db: sqlite_utils.Database, config_url: str) -> FeedState | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM feeds WHERE config_url = ?", (config_url,)).fetchone()
    return _state(row) if row else None


def feed_by_id(db: sqlite_utils.Database, feed_id: int) -> FeedState:
    row = db.execute(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,)).fetchone()
    if row is None:
        raise KeyError(feed_id)
    return _state(row)


def due_feeds(db: sqlite_utils.Database, now: float) -> list[FeedState]:
    return [
        _state(r)
        for r in db.execute(
            f"SELECT {_COLUMNS} FROM feeds WHERE status = ? AND (next_due IS NULL OR next_due <= ?)"
            " ORDER BY next_due",
            (ACTIVE, now),
        )
    ]


def record_failure(
    db: sqlite_utils.Database,
    feed_id: int,
    *,
    now: float,
    error: str,
    next_due: float | None,
    gone: bool = False,
) -> None:
    """One failed poll: count it, keep the reason, schedule the retry (or retire on 410)."""
    db.execute(
        "UPDATE feeds SET last_poll = ?, polls = polls + 1, failures = failures + 1,"
        " failing_since = COALESCE(failing_since, ?), last_error = ?, next_due = ?,"
        " status = CASE WHEN ? THEN ? ELSE status END WHERE id = ?",
        (now, now, error, next_due, gone, GONE, feed_id),
    )


def record_success(
    db: sqlite_utils.Database,
    feed_id: int,
    *,
    now: float,
    next_due: float,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    title: str | None = None,
    moved_to: str | None = None,
    warning: str | None = None,
    new_items: int = 0,
) -> None:
    """One good poll (changed or not): reset failures, keep validators, schedule the next."""
    db.execute(
        "UPDATE feeds SET last_poll = ?, last_success = ?, polls = polls + 1, failures = 0,"
        " failing_since = NULL, last_error = NULL, next_due = ?, etag = ?, last_modified = ?,"
        " body_hash = COALESCE(?, body_hash), title = COALESCE(?, title),"
        " url = COALESCE(?, url), last_warning = ?, items_seen = items_seen + ? WHERE id = ?",
        (now, now, next_due, etag, last_modified, body_hash, title, moved_to, warning,
         new_items, feed_id),
    )  # fmt: skip


def record_schedule(
    db: sqlite_utils.Database,
    feed_id: int,
    *,
    poll_interval: float,
    basis: str,
    ttl_hint: float | None,
) -> None:
    """The interval chosen after a good poll, why, and the feed's own ttl (kept on a 304)."""
    db.execute(
        "UPDATE feeds SET poll_interval = ?, poll_basis = ?, ttl_hint = ? WHERE id = ?",
        (poll_interval, basis, ttl_hint, feed_id),
    )


def record_history(
    db: sqlite_utils.Database,
    feed_id: int,
    *,
    now: float,
    typical_gap: float | None,
    long_gap: float | None,
    gap_count: int,
    last_item_at: float | None,
) -> None:
    """A summary of the feed's publish history (watcher.polling.PublishStats)."""
    db.execute(
        "UPDATE feeds SET typical_gap = ?, long_gap = ?, gap_count = ?, last_item_at = ?,"
        " history_at = ? WHERE id = ?",
        (typical_gap, long_gap, gap_count, last_item_at, now, feed_id),
    )


def record_health(
    db: sqlite_utils.Database,
    feed_id: int,
    *,
    state: str,
    since: float | None,
    alerted: bool,
    reason: str | None,
) -> None:
    """The feed's health episode (watcher.health.HealthRecord)."""
    db.execute(
        "UPDATE feeds SET health_state = ?, health_since = ?, health_alerted = ?,"
        " health_reason = ? WHERE id = ?",
        (state, since, int(alerted), reason, feed_id),
    )


def publish_history(
    db: sqlite_utils.Database, feed_id: int, *, limit: int = 5000
) -> list[tuple[float | None, float]]:
    """(published, first_seen) of the feed's newest `limit` items, newest first.

    Items are pruned after `dedup.retention`, so this is at most that much history.
    """
    return db.execute(
        "SELECT published, first_seen FROM items WHERE feed_id = ?"
        " ORDER BY first_seen DESC LIMIT ?",
        (feed_id, limit),
    ).fetchall()
