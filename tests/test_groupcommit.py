"""Group commit (watcher.groupcommit) on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlite_utils

from watcher.groupcommit import GroupCommit
from watcher.store.db import transaction


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    database = sqlite_utils.Database(tmp_path / "g.db")
    database.execute("CREATE TABLE t (feed TEXT, n INTEGER)")
    yield database
    database.close()


def _writer(db: sqlite_utils.Database, feed: str, fail: bool = False):  # type: ignore[no-untyped-def]
    def work() -> str:
        with transaction(db):  # as Ingestor.ingest and feedcare write
            db.execute("INSERT INTO t VALUES (?, 1)", (feed,))
            if fail:
                raise ValueError(f"{feed} failed")
        return feed

    return work


def _feeds(db: sqlite_utils.Database) -> list[str]:
    return sorted(row[0] for row in db.execute("SELECT feed FROM t"))


def test_polls_ending_together_share_one_commit(db: sqlite_utils.Database) -> None:
    writes = GroupCommit(db, window=0.05)

    async def run() -> list[str]:
        return await asyncio.gather(*(writes.run(_writer(db, f"f{i}")) for i in range(5)))

    assert asyncio.run(run()) == [f"f{i}" for i in range(5)]
    assert writes.commits == 1
    assert _feeds(db) == [f"f{i}" for i in range(5)]
    assert not db.conn.in_transaction


def test_a_failing_poll_fails_alone_and_the_others_are_written(db: sqlite_utils.Database) -> None:
    writes = GroupCommit(db, window=0.05)

    async def run() -> list[object]:
        jobs = [writes.run(_writer(db, f"f{i}", fail=i == 2)) for i in range(4)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(run())
    assert results[:2] == ["f0", "f1"] and results[3] == "f3"
    assert isinstance(results[2], ValueError)
    assert _feeds(db) == ["f0", "f1", "f3"]  # nothing of the failed poll


def test_a_full_group_commits_without_waiting_for_the_window(db: sqlite_utils.Database) -> None:
    writes = GroupCommit(db, window=60, max_group=3)

    async def run() -> list[str]:
        return await asyncio.wait_for(
            asyncio.gather(*(writes.run(_writer(db, f"f{i}")) for i in range(3))), 5
        )

    assert len(asyncio.run(run())) == 3 and writes.commits == 1


def test_a_cancelled_poll_writes_nothing(db: sqlite_utils.Database) -> None:
    writes = GroupCommit(db, window=0.05)

    async def run() -> None:
        cancelled = asyncio.ensure_future(writes.run(_writer(db, "cancelled")))
        kept = asyncio.ensure_future(writes.run(_writer(db, "kept")))
        await asyncio.sleep(0)
        cancelled.cancel()
        assert await kept == "kept"

    asyncio.run(run())
    assert _feeds(db) == ["kept"]


def test_without_a_window_each_write_commits_at_once(db: sqlite_utils.Database) -> None:
    writes = GroupCommit(db)
    assert asyncio.run(writes.run(_writer(db, "f"))) == "f"
    assert _feeds(db) == ["f"] and not db.conn.in_transaction
