"""Crash safety: a sender killed with SIGKILL mid-delivery loses nothing and, once an alert
is recorded as sent, never sends it again (the receiver counts delivery ids)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.http_receiver import HttpReceiver
from tests.support.outbox_data import T0, queue_alert
from watcher.store import open_database, outbox

ROOT = Path(__file__).resolve().parents[1]
SENDER = """
import asyncio, sys
from watcher.config.models import Settings
from watcher.notify.delivery import Deliverer
from watcher.store import open_database

db = open_database(sys.argv[1])
settings = Settings.model_validate({"channels": {"hook": {"type": "webhook", "url": sys.argv[2]}}})
asyncio.run(Deliverer(db, settings).deliver_due())
"""
ALERTS = 30


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the sender")
        time.sleep(0.01)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
def test_killed_sender_loses_nothing_and_never_resends_what_was_recorded(tmp_path):
    """kill -9 while alerts are pending; `watcher once` then delivers the rest exactly once."""
    database = tmp_path / "w.db"
    db = open_database(database)
    ids = [
        queue_alert(db, channel="hook", title=f"Story {n}", created=T0 + n) for n in range(ALERTS)
    ]
    db.close()

    with HttpReceiver(delay=0.03) as hook:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(database), hook.url()], cwd=ROOT, env=env
        )
        try:
            wait_for(lambda: len(hook.requests) >= 8)
        finally:
            sender.kill()
            sender.wait(10)

        db = open_database(database)
        sent_before = {a.id for a in outbox.recent_alerts(db, limit=1000, status="sent")}
        received_before = hook.delivery_ids(accepted_only=False)
        assert 0 < len(sent_before) < ALERTS  # killed half-way, as intended
        db.close()

        config = tmp_path / "watcher.yaml"
        config.write_text(
            f"database: {database}\nchannels:\n  hook: {{type: webhook, url: '{hook.url()}'}}\n"
        )
        once = subprocess.run(
            [sys.executable, "-m", "watcher", "--config", str(config), "once", "-q"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert once.returncode == 0, once.stderr
        delivered = re.search(r"delivery: (\d+) alerts? delivered", once.stdout)
        assert delivered and int(delivered.group(1)) == ALERTS - len(sent_before)

        received = hook.delivery_ids(accepted_only=False)
        db = open_database(database)
        assert outbox.count_by_status(db) == {"sent": ALERTS}
        db.close()

    assert set(received) == set(ids)  # nothing lost
    for ident in sent_before:  # recorded as sent: never sent again
        assert received[ident] == received_before[ident] == 1
    # at most the one request in flight at the kill arrived twice (at-least-once)
    assert sum(received.values()) - ALERTS <= 1
