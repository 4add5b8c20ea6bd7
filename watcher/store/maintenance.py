"""Retention: keep the database bounded over months of polling.

Fingerprints are pruned by age (dedup's own rule). Items are pruned once they are older
than retention *and* gone from their feed: every item in a feed's latest parsed body
carries that parse's time as `last_seen`, so an item whose `last_seen` is older than its
feed's newest is no longer published there. An item still in its feed is never pruned,
so it can never come back as "new". Delivered and dead alerts are pruned by age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlite_utils

from watcher.dedup import DedupStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    fingerprints: int
    items: int
    alerts: int

    def __str__(self) -> str:
        return f"{self.fingerprints} fingerprints, {self.items} items, {self.alerts} alerts pruned"


def prune(db: sqlite_utils.Database, now: float, retention: float) -> Pruned:
    """Delete what is older than `retention` seconds (see module docstring for the rules)."""
    cutoff = now - retention
    fingerprints = DedupStore(db).prune(now, retention)
    with db.atomic():
        items = db.execute(
            "DELETE FROM items WHERE last_seen < ? AND last_seen <"
            " (SELECT MAX(newest.last_seen) FROM items AS newest"
            " WHERE newest.feed_id = items.feed_id)",
            (cutoff,),
        ).rowcount
        alerts = db.execute(
            "DELETE FROM alerts WHERE status IN ('sent', 'dead') AND created < ?", (cutoff,)
        ).rowcount
    result = Pruned(fingerprints, items, alerts)
    if items or alerts or fingerprints:
        log.info("maintenance: %s", result)
    return result


def optimize(db: sqlite_utils.Database) -> None:
    """Let SQLite refresh its statistics and fold the WAL back into the database file."""
    db.execute("PRAGMA optimize")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
