"""The `alerts` outbox and the `republications` links.

Writers (the pipeline) insert inside the transaction that records the item; the delivery
worker reads due rows and records each attempt's outcome immediately after it.
"""

from __future__ import annotations

import json
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
    db: sqlite_utils.Database, limit: int = 50, status: str | None = None
) -> list[OutboxAlert]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
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
