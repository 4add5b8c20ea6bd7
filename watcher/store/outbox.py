"""The `alerts` outbox and the `republications` links.

Writers (the pipeline) insert inside the transaction that records the item; the delivery
worker reads due rows and records each attempt's outcome immediately after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

PENDING, SENT, DEAD = "pending", "sent", "dead"


@dataclass(frozen=True)
class OutboxAlert:
    id: str
    item_id: int | None
    channel: str
    kind: str
    status: str
    created: float
    attempts: int
    next_attempt: float
    last_error: str | None
    sent_at: float | None
    payload: dict[str, Any]


_COLUMNS = (
    "id, item_id, channel, kind, status, created, attempts, next_attempt, last_error,"
    " sent_at, payload"
)


def _alert(row: tuple) -> OutboxAlert:
    return OutboxAlert(*row[:-1], payload=json.loads(row[-1]))


def insert_alert(
    db: sqlite_utils.Database,
    *,
    alert_id: str,
    item_id: int | None,
    channel: str,
    kind: str,
    created: float,
    payload: dict[str, Any],
) -> bool:
    """Queue an alert; False if one with this id exists already (never queued twice)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO alerts (id, item_id, channel, kind, created, next_attempt, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (alert_id, item_id, channel, kind, created, created, json.dumps(payload)),
    )
    return cursor.rowcount == 1


def first_alert_id(db: sqlite_utils.Database, item_id: int, channel: str) -> str | None:
    """The first alert sent about an item on a channel: updates thread under it."""
    row = db.execute(
        "SELECT id FROM alerts WHERE item_id = ? AND channel = ? ORDER BY created, rowid LIMIT 1",
        (item_id, channel),
    ).fetchone()
    return row[0] if row else None


def due_alerts(
    db: sqlite_utils.Database, now: float, channel: str | None = None, limit: int = 100
) -> list[OutboxAlert]:
    """Pending alerts whose next attempt is due, oldest first (per channel order kept)."""
    where = "status = ? AND next_attempt <= ?"
    params: list[Any] = [PENDING, now]
    if channel is not None:
        where += " AND channel = ?"
        params.append(channel)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE {where} ORDER BY created, rowid LIMIT ?",
        (*params, limit),
    )
    return [_alert(r) for r in rows]


def recent_alerts(
    db: sqlite_utils.Database,
    limit: int = 50,
    status: str | None = None,
    channel: str | None = None,
) -> list[OutboxAlert]:
    """Newest first, optionally only one status and/or one channel."""
    clauses, params = [], []
    if status:
        clauses.append("status = ?")
        params.append(status)
    if channel:
        clauses.append("channel = ?")
        params.append(channel)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY created DESC, rowid DESC LIMIT ?",
        (*params, limit),
    )
    return [_alert(r) for r in rows]


def count_by_status(db: sqlite_utils.Database) -> dict[str, int]:
    return dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())


def add_republication(
    db: sqlite_utils.Database, *, original_id: int, item_id: int, now: float
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO republications (original_id, item_id, created) VALUES (?, ?, ?)",
        (original_id, item_id, now),
    )


def also_reported_by(db: sqlite_utils.Database, original_id: int) -> list[dict[str, Any]]:
    """Who republished an item, for the "also reported by" part of its alert."""
    rows = db.execute(
        "SELECT COALESCE(feeds.name, feeds.title, feeds.url), items.title, items.link"
        " FROM republications JOIN items ON items.id = republications.item_id"
        " JOIN feeds ON feeds.id = items.feed_id WHERE republications.original_id = ?"
        " ORDER BY republications.created",
        (original_id,),
    )
    return [{"feed": r[0], "title": r[1], "link": r[2]} for r in rows]


# --- delivery: what the worker reads and records -------------------------------------------


def get_alert(db: sqlite_utils.Database, alert_id: str) -> OutboxAlert | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return _alert(row) if row else None


def pending_channels(db: sqlite_utils.Database) -> list[str]:
    """Channels with at least one pending alert (configured or not)."""
    rows = db.execute("SELECT DISTINCT channel FROM alerts WHERE status = ?", (PENDING,))
    return sorted(r[0] for r in rows)


def pending_alerts(
    db: sqlite_utils.Database,
    channel: str,
    limit: int = 100,
    *,
    kind: str | None = None,
    not_kind: str | None = None,
) -> list[OutboxAlert]:
    """A channel's pending alerts in creation order, due or not; optionally of one kind
    only, or of every kind but one (a digest channel sends feed health alerts singly).

    The worker needs the head of the queue even when it is not due yet: a channel waits
    behind its oldest alert, so alerts never overtake each other.
    """
    where, params = "status = ? AND channel = ?", [PENDING, channel]
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    if not_kind is not None:
        where += " AND kind != ?"
        params.append(not_kind)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE {where} ORDER BY created, rowid LIMIT ?",
        (*params, limit),
    )
    return [_alert(r) for r in rows]


def _ids(alert_ids: str | Sequence[str]) -> list[str]:
    """One id or many (a digest records all of its alerts at once)."""
    return [alert_ids] if isinstance(alert_ids, str) else list(alert_ids)


def _update_each(db: sqlite_utils.Database, sql: str, rows: list[tuple[Any, ...]]) -> int:
    """Run one UPDATE per row in a single transaction (a digest is recorded all at once)."""
    changed = 0
    with db.atomic():
        for params in rows:
            changed += db.execute(sql, params).rowcount
    return changed


def mark_sent(db: sqlite_utils.Database, alert_ids: str | Sequence[str], now: float) -> int:
    """Record that the channel accepted these alerts; a sent alert is never sent again.

    Only pending rows change, so recording twice (or racing a `--retry-dead`) is harmless.
    """
    return _update_each(
        db,
        "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1"
        " WHERE id = ? AND status = 'pending'",
        [(now, i) for i in _ids(alert_ids)],
    )


def mark_failed(
    db: sqlite_utils.Database, alert_ids: str | Sequence[str], next_attempt: float, error: str
) -> int:
    """Count a failed attempt and schedule the next one."""
    return _update_each(
        db,
        "UPDATE alerts SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
        " WHERE id = ? AND status = 'pending'",
        [(next_attempt, error, i) for i in _ids(alert_ids)],
    )


def mark_dead(
    db: sqlite_utils.Database,
    alert_ids: str | Sequence[str],
    error: str,
    *,
    attempted: bool = True,
) -> int:
    """Give up on these alerts, keeping why; `retry_dead` brings them back."""
    return _update_each(
        db,
        "UPDATE alerts SET status = 'dead', attempts = attempts + ?, last_error = ?"
        " WHERE id = ? AND status = 'pending'",
        [(1 if attempted else 0, error, i) for i in _ids(alert_ids)],
    )


def defer(db: sqlite_utils.Database, alert_ids: str | Sequence[str], until: float) -> int:
    """Hold alerts back (a channel's hourly cap) without counting an attempt."""
    return _update_each(
        db,
        "UPDATE alerts SET next_attempt = MAX(next_attempt, ?) WHERE id = ? AND status = 'pending'",
        [(until, i) for i in _ids(alert_ids)],
    )


def retry_dead(db: sqlite_utils.Database, now: float, *, channel: str | None = None) -> list[str]:
    """Make dead alerts pending again with a fresh attempt budget; return their ids."""
    where, params = ("status = 'dead'", [])
    if channel is not None:
        where += " AND channel = ?"
        params.append(channel)
    with db.atomic():
        ids = [r[0] for r in db.execute(f"SELECT id FROM alerts WHERE {where}", params)]
        db.execute(
            f"UPDATE alerts SET status = 'pending', attempts = 0, next_attempt = ? WHERE {where}",
            (now, *params),
        )
    return ids


def sent_times_since(db: sqlite_utils.Database, channel: str, since: float) -> list[float]:
    """When the channel's alerts were sent after `since`, oldest first (for `max_per_hour`)."""
    rows = db.execute(
        "SELECT sent_at FROM alerts WHERE channel = ? AND status = 'sent' AND sent_at > ?"
        " ORDER BY sent_at",
        (channel, since),
    )
    return [r[0] for r in rows]
