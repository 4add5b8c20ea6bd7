"""Opening the database: WAL, foreign keys, a busy timeout, and migrations to the latest."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from watcher.errors import StoreError
from watcher.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply every migration newer than the file's version; return those applied."""
    versions = [m.version for m in MIGRATIONS]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migrations must be numbered 1..N without gaps, found {versions}")
    current = schema_version(db)
    latest = versions[-1]
    if current > latest:
        raise StoreError(
            f"database schema version {current} is newer than this watcher knows ({latest}); "
            "upgrade watcher or point `database:` at another file"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        with db.atomic():
            migration.apply(db)
            db.execute(f"PRAGMA user_version = {migration.version:d}")
        log.info("database migrated to version %d (%s)", migration.version, migration.name)
        applied.append(migration.version)
    return applied


def open_database(path: str | Path) -> sqlite_utils.Database:
    """The database at `path` (created with its folder if missing), migrated to latest.

    `:memory:` gives a private in-memory database, for tests and one-off commands.
    """
    try:
        if str(path) == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            file = Path(path)
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(file, timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        with db.ensure_autocommit_on():
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            # 32 MiB of page cache keeps the dedup band indexes hot (default: 2 MiB)
            db.execute("PRAGMA cache_size = -32768")
            # Checkpoint every 40 MB of WAL, not every 4 MB: each poll's commit dirties
            # index pages all over the five band indexes, the same pages again and again,
            # and a checkpoint copies each once however often it changed. A 2,000-feed
            # first poll spends 17% less CPU in SQLite. maintenance.optimize truncates
            # the WAL hourly.
            db.execute("PRAGMA wal_autocheckpoint = 10000")
        migrate(db)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return db


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A transaction of its own, or the caller's when one is open (a group commit).

    Not a savepoint inside the caller's: SQLite copies every page a savepoint changes
    to a sub-journal so it can be rolled back alone, which made a grouped poll cost more
    than a poll committed on its own. watcher.groupcommit rolls back the whole group
    instead, on the rare failure, and runs its polls again one by one.
    """
    if db.conn.in_transaction:
        yield db
        return
    with db.atomic():
        yield db
