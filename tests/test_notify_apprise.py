"""The optional apprise channel, through the outbox, against a real local HTTP receiver
(Apprise's `json://` service posts JSON to it). Skipped when apprise is not installed."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.support.http_receiver import HttpReceiver
from tests.support.outbox_data import T0, make_settings, queue_alert, status_of
from watcher.notify.delivery import Deliverer, DeliveryReport
from watcher.store import open_database

pytest.importorskip("apprise")
# apprise loads its plugins lazily; on Python 3.11 one imports the deprecated `imghdr`
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


def deliver(db, settings, now: float = T0) -> DeliveryReport:
    async def run() -> DeliveryReport:
        deliverer = Deliverer(db, settings, rng=random.Random(5), clock=lambda: now)
        try:
            return await deliverer.deliver_due(now)
        finally:
            await deliverer.aclose()

    return asyncio.run(run())


def apprise_channel(*urls: str) -> dict:
    return {"phone": {"type": "apprise", "urls": list(urls)}}


def test_apprise_delivers_title_and_text_through_the_outbox(db):
    """An apprise URL gets the subject as title and the plain-text alert as body."""
    with HttpReceiver() as hook:
        ident = queue_alert(db, channel="phone")
        url = f"json://127.0.0.1:{hook.port}/hook"
        report = deliver(db, make_settings(apprise_channel(url)))
        assert report.sent == 1 and status_of(db, ident).status == "sent"
        body = hook.requests[0].json()
    assert (
        body["title"] == "Istanbul peace talks: Russian and Ukrainian delegations meet in Istanbul"
    )
    assert "first direct talks in three years" in body["message"]
    assert ident in body["message"]


def test_apprise_failure_is_retried_without_revealing_credentials(db):
    """A refusing service is retried like any channel; the URL's password is not shown."""
    with HttpReceiver() as hook:
        hook.respond(500)
        ident = queue_alert(db, channel="phone")
        url = f"json://user:hunter2-secret@127.0.0.1:{hook.port}/hook"
        deliver(db, make_settings(apprise_channel(url)))
        alert = status_of(db, ident)
        assert alert.status == "pending" and alert.attempts == 1
        assert "apprise could not notify" in alert.last_error
        assert "hunter2-secret" not in alert.last_error
        deliver(db, make_settings(apprise_channel(url)), now=alert.next_attempt)
        assert status_of(db, ident).status == "sent"


def test_apprise_url_it_cannot_read_is_permanent(db):
    """An unknown scheme is a configuration mistake: dead at once, with the reason."""
    ident = queue_alert(db, channel="phone")
    deliver(db, make_settings(apprise_channel("nosuchservice://x")))
    alert = status_of(db, ident)
    assert alert.status == "dead" and "urls[1]" in alert.last_error
