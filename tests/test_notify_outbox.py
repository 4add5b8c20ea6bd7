"""The outbox helpers the delivery worker records outcomes with (real SQLite)."""

from __future__ import annotations

import pytest

from tests.support.outbox_data import T0, queue_alert, status_of
from watcher.store import open_database, outbox


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


def test_mark_sent_is_final_and_recorded_once(db):
    """A sent alert stays sent: recording again (or marking it failed/dead) changes nothing."""
    ident = queue_alert(db, channel="c")
    assert outbox.mark_sent(db, ident, T0 + 1) == 1
    assert outbox.mark_sent(db, ident, T0 + 2) == 0
    assert outbox.mark_failed(db, ident, T0 + 60, "late failure") == 0
    assert outbox.mark_dead(db, ident, "late refusal") == 0
    alert = status_of(db, ident)
    assert (alert.status, alert.attempts, alert.sent_at, alert.last_error) == (
        "sent",
        1,
        T0 + 1,
        None,
    )
    assert outbox.due_alerts(db, T0 + 10**6) == []


def test_mark_failed_counts_the_attempt_and_schedules_the_next(db):
    ident = queue_alert(db, channel="c")
    outbox.mark_failed(db, ident, T0 + 30, "HTTP 503")
    outbox.mark_failed(db, [ident], T0 + 90, "HTTP 504")
    alert = status_of(db, ident)
    assert (alert.attempts, alert.next_attempt, alert.last_error) == (2, T0 + 90, "HTTP 504")
    assert outbox.due_alerts(db, T0 + 89) == []
    assert [a.id for a in outbox.due_alerts(db, T0 + 90)] == [ident]


def test_many_ids_are_recorded_in_one_go(db):
    """A digest's alerts are marked together."""
    ids = [queue_alert(db, channel="c", title=f"S{n}", created=T0 + n) for n in range(3)]
    assert outbox.mark_sent(db, ids, T0 + 5) == 3
    assert outbox.count_by_status(db) == {"sent": 3}


def test_retry_dead_only_touches_dead_alerts_of_the_channel(db):
    dead_c = queue_alert(db, channel="c", title="a")
    dead_d = queue_alert(db, channel="d", title="b")
    pending = queue_alert(db, channel="c", title="c")
    outbox.mark_dead(db, [dead_c, dead_d], "HTTP 404")
    assert outbox.retry_dead(db, T0 + 100, channel="c") == [dead_c]
    assert status_of(db, dead_c).status == "pending" and status_of(db, dead_d).status == "dead"
    assert status_of(db, pending).attempts == 0


def test_pending_alerts_are_in_creation_order_whether_due_or_not(db):
    later = queue_alert(db, channel="c", title="later", created=T0 + 10)
    first = queue_alert(db, channel="c", title="first", created=T0)
    outbox.mark_failed(db, first, T0 + 3600, "HTTP 500")
    assert [a.id for a in outbox.pending_alerts(db, "c")] == [first, later]
