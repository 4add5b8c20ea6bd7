"""The webhook channel and the delivery worker against a real local HTTP receiver.

Time is injected (`deliver_due(now=…)`), never slept: backoff and Retry-After are checked
on the recorded `next_attempt`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.support.http_receiver import HttpReceiver
from tests.support.outbox_data import (
    T0,
    insert_item,
    make_settings,
    queue_alert,
    status_of,
)
from watcher.notify.delivery import ChannelReport, Deliverer, DeliveryReport
from watcher.notify.webhook import verify_signature
from watcher.runner import deliver_until
from watcher.store import open_database, outbox

SECRET = "whsec-7f3a9c1e-never-log-me"


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


def deliver(db, settings, now: float = T0, **kwargs: Any) -> DeliveryReport:
    async def run() -> DeliveryReport:
        deliverer = Deliverer(db, settings, rng=random.Random(7), clock=lambda: now, **kwargs)
        try:
            return await deliverer.deliver_due(now)
        finally:
            await deliverer.aclose()

    return asyncio.run(run())


def webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {"hook": {"type": "webhook", "url": url, **extra}}


def _is_iso(value: str) -> bool:
    return isinstance(datetime.fromisoformat(value), datetime)


def assert_contract_alert(body: dict[str, Any]) -> None:
    """Keys and types of DESIGN.md "Alerts (contract)", webhook body."""
    assert set(body) - {"thread"} == {
        "type",
        "id",
        "kind",
        "created",
        "topics",
        "item",
        "also_reported_by",
    }
    assert body["type"] == "alert"
    assert isinstance(body["id"], str) and body["id"]
    assert body["kind"] in ("new", "update")
    assert _is_iso(body["created"])
    assert isinstance(body["topics"], list) and body["topics"]
    for topic in body["topics"]:
        assert set(topic) == {"name", "title", "terms", "snippet"}
        assert isinstance(topic["name"], str) and isinstance(topic["title"], str)
        assert isinstance(topic["snippet"], str)
        assert all(isinstance(t, str) for t in topic["terms"])
    item = body["item"]
    assert set(item) == {"id", "title", "link", "published", "feed", "paragraphs"}
    assert isinstance(item["id"], str) and isinstance(item["title"], str)
    assert item["link"] is None or isinstance(item["link"], str)
    assert item["published"] is None or _is_iso(item["published"])
    assert set(item["feed"]) == {"name", "url"}
    assert all(isinstance(p, str) for p in item["paragraphs"])
    assert isinstance(body["also_reported_by"], list)
    for entry in body["also_reported_by"]:
        assert set(entry) == {"feed", "title", "link"}


# --- body, signature, headers --------------------------------------------------------------


def test_json_body_is_the_contract_alert_signed_with_the_secret(db, hook):
    """format json: the DESIGN.md alert body, application/json, signed, with the alert id."""
    ident = queue_alert(db, channel="hook")
    report = deliver(db, make_settings(webhook(hook.url(), secret=SECRET)))

    assert report.sent == 1
    (request,) = hook.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-watcher-delivery"] == ident
    body = request.json()
    assert_contract_alert(body)
    assert body["id"] == ident
    assert body["item"]["title"] == "Russian and Ukrainian delegations meet in Istanbul"
    assert body["topics"][0]["terms"] == ["istanbul", "talks"]
    header = request.headers["x-watcher-signature"]
    assert header.startswith(f"t={int(T0)},v1=")
    assert verify_signature(SECRET, header, request.body, now=T0)
    assert not verify_signature("another secret", header, request.body, now=T0)
    assert not verify_signature(SECRET, header, request.body + b" ", now=T0)


def test_signature_is_hmac_sha256_of_timestamp_dot_body(db, hook):
    """v1 is hex HMAC-SHA256 over "<t>.<body>" exactly as received (a receiver recomputes it)."""
    import hashlib
    import hmac

    queue_alert(db, channel="hook")
    deliver(db, make_settings(webhook(hook.url(), secret=SECRET)))
    request = hook.requests[0]
    fields = dict(p.split("=", 1) for p in request.headers["x-watcher-signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert fields["v1"] == expected


def test_without_secret_no_signature_header(db, hook):
    """No `secret`: the request carries the delivery id but no signature."""
    queue_alert(db, channel="hook")
    deliver(db, make_settings(webhook(hook.url())))
    assert "x-watcher-signature" not in hook.requests[0].headers
    assert hook.requests[0].headers["x-watcher-delivery"]


def test_extra_headers_are_sent_but_cannot_replace_ours(db, hook):
    """`headers:` are added (e.g. a bearer token); Content-Type and signature stay watcher's."""
    queue_alert(db, channel="hook")
    headers = {"Authorization": "Bearer abc", "Content-Type": "text/plain"}
    deliver(db, make_settings(webhook(hook.url(), secret=SECRET, headers=headers)))
    request = hook.requests[0]
    assert request.headers["authorization"] == "Bearer abc"
    assert request.headers["content-type"] == "application/json"
    assert verify_signature(SECRET, request.headers["x-watcher-signature"], request.body)


def test_also_reported_by_is_read_at_send_time(db, hook):
    """A republication recorded after the alert was queued still shows in the alert."""
    original = insert_item(db, key="guid:orig", title="Talks in Istanbul")
    queue_alert(db, channel="hook", item_id=original)
    copy = insert_item(
        db,
        key="guid:copy",
        title="Talks held in Istanbul (wire)",
        link="https://other.example.net/a/1",
        feed_url="https://other.example.net/rss",
        feed_name="Other Outlet",
    )
    outbox.add_republication(db, original_id=original, item_id=copy, now=T0)

    deliver(db, make_settings(webhook(hook.url())))
    body = hook.requests[0].json()
    assert_contract_alert(body)
    assert body["also_reported_by"] == [
        {
            "feed": "Other Outlet",
            "title": "Talks held in Istanbul (wire)",
            "link": "https://other.example.net/a/1",
        }
    ]


def test_update_carries_its_thread(db, hook):
    """An update's body names the first alert of its item on the channel (`thread`)."""
    first = queue_alert(db, channel="hook", key="guid:x")
    update = queue_alert(
        db, channel="hook", key="guid:x", kind="update", thread=first, created=T0 + 60
    )
    deliver(db, make_settings(webhook(hook.url())), now=T0 + 60)
    bodies = [r.json() for r in hook.requests]
    assert [b["id"] for b in bodies] == [first, update]
    assert_contract_alert(bodies[1])
    assert bodies[1]["kind"] == "update" and bodies[1]["thread"] == first


# --- presets ----------------------------------------------------------------------------


def test_slack_preset_has_text_and_blocks_and_escapes_markup(db, hook):
    """format slack: `text` fallback + Block Kit `blocks`; `<!channel>` in a title is inert."""
    queue_alert(db, channel="hook", title="Talks <!channel> & <https://evil.example|click>")
    deliver(db, make_settings(webhook(hook.url(), format="slack")))
    body = hook.requests[0].json()
    assert set(body) == {"text", "blocks"}
    assert isinstance(body["text"], str) and "Istanbul peace talks" in body["text"]
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and "section" in kinds
    assert body["blocks"][0]["text"]["type"] == "plain_text"
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    section = next(b for b in body["blocks"] if b["type"] == "section")
    assert section["text"]["type"] == "mrkdwn"
    mrkdwn = section["text"]["text"]
    assert "<!channel>" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn
    assert "<https://news.example.org/world/istanbul-talks|" in mrkdwn
    assert "<!channel>" not in body["text"]


def test_discord_preset_has_content_embeds_and_no_mentions(db, hook):
    """format discord: `content` + `embeds` (title, url, description, timestamp, fields)."""
    queue_alert(db, channel="hook", title="@everyone [click](https://evil.example) talks")
    deliver(db, make_settings(webhook(hook.url(), format="discord")))
    body = hook.requests[0].json()
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000
    (embed,) = body["embeds"]
    assert embed["url"] == "https://news.example.org/world/istanbul-talks"
    assert embed["timestamp"] == "2025-06-15T14:30:00Z"
    assert "\\[click\\]\\(https" not in embed["title"]  # titles are plain text in Discord
    assert "talks" in embed["title"]
    assert embed["fields"][0]["name"] == "Istanbul peace talks"
    assert "\\@everyone" not in embed["title"]
    assert "Delegations from Russia" in embed["description"]
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096


def test_ntfy_preset_publishes_json_to_the_root_with_topic(db, hook):
    """format ntfy: JSON publish to the server root with topic, title, message, click, tags."""
    queue_alert(db, channel="hook")
    deliver(db, make_settings(webhook(hook.url("/watcher-alerts"), format="ntfy")))
    request = hook.requests[0]
    assert request.path == "/"
    body = request.json()
    assert body["topic"] == "watcher-alerts"
    assert body["title"].startswith("Istanbul peace talks: Russian and Ukrainian")
    assert "Delegations from Russia" in body["message"]
    assert body["click"] == "https://news.example.org/world/istanbul-talks"
    assert body["tags"] == ["istanbul-talks"]


# --- faults and retries ----------------------------------------------------------------


def test_500_twice_then_200_is_delivered_once_after_three_attempts(db, hook):
    """5xx is retried with backoff; the alert is sent once, on the third attempt."""
    ident = queue_alert(db, channel="hook")
    settings = make_settings(webhook(hook.url()), backoff="30s", max_backoff="1h")
    hook.respond(500, b"oops", times=2)

    first = deliver(db, settings, now=T0)
    after_one = status_of(db, ident)
    assert first.failed == 1 and after_one.status == "pending" and after_one.attempts == 1
    assert T0 + 15 <= after_one.next_attempt <= T0 + 30  # jittered within [backoff/2, backoff]
    assert "HTTP 500" in after_one.last_error

    assert deliver(db, settings, now=after_one.next_attempt - 1).sent == 0  # not due yet
    assert len(hook.requests) == 1

    deliver(db, settings, now=after_one.next_attempt)
    after_two = status_of(db, ident)
    assert after_two.attempts == 2
    assert 30 <= after_two.next_attempt - after_one.next_attempt <= 60  # doubled ceiling

    final = deliver(db, settings, now=after_two.next_attempt)
    done = status_of(db, ident)
    assert final.sent == 1
    assert done.status == "sent" and done.attempts == 3
    assert hook.delivery_ids() == {ident: 1}
    assert hook.delivery_ids(accepted_only=False) == {ident: 3}


def test_429_retry_after_is_honoured(db, hook):
    """429 with Retry-After: the next attempt is no sooner than Retry-After says."""
    ident = queue_alert(db, channel="hook")
    hook.respond(429, headers={"Retry-After": "600"})
    deliver(db, make_settings(webhook(hook.url()), backoff="10s"), now=T0)
    alert = status_of(db, ident)
    assert alert.status == "pending"
    assert alert.next_attempt >= T0 + 600


def test_503_retry_after_http_date_is_honoured(db, hook):
    """Retry-After may be an HTTP date; it is honoured the same way."""
    ident = queue_alert(db, channel="hook")
    hook.respond(503, headers={"Retry-After": "Sun, 15 Jun 2025 16:06:40 GMT"})  # T0 + 1h
    deliver(db, make_settings(webhook(hook.url()), backoff="10s"), now=T0)
    assert status_of(db, ident).next_attempt >= T0 + 3600


def test_receiver_down_then_up_is_delivered(db):
    """Connection refused is retried; once the receiver is up, the alert arrives once."""
    receiver = HttpReceiver()  # not started: nothing listens on its port yet
    ident = queue_alert(db, channel="hook")
    settings = make_settings(webhook(receiver.url()))
    deliver(db, settings, now=T0)
    down = status_of(db, ident)
    assert down.status == "pending" and down.attempts == 1
    assert "cannot reach http://127.0.0.1" in down.last_error
    deliver(db, settings, now=down.next_attempt)
    assert status_of(db, ident).attempts == 2
    with receiver:
        deliver(db, settings, now=status_of(db, ident).next_attempt)
        assert status_of(db, ident).status == "sent"
        assert receiver.delivery_ids() == {ident: 1}


def test_other_4xx_is_permanent_and_the_url_token_is_not_in_the_error(db, hook):
    """404 is permanent: dead at once, with the answer; the URL's secret path is not shown."""
    ident = queue_alert(db, channel="hook")
    hook.respond(404, b"no such hook")
    report = deliver(db, make_settings(webhook(hook.url("/services/T00/B00/tok3n-xyz"))))
    alert = status_of(db, ident)
    assert report.dead == 1
    assert alert.status == "dead" and alert.attempts == 1
    assert "HTTP 404" in alert.last_error and "no such hook" in alert.last_error
    assert "tok3n-xyz" not in alert.last_error


def test_redirect_is_not_followed_and_is_permanent(db, hook):
    """A 3xx answer is reported, not replayed at another address."""
    ident = queue_alert(db, channel="hook")
    hook.respond(301, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    deliver(db, make_settings(webhook(hook.url())))
    assert status_of(db, ident).status == "dead"
    assert len(hook.requests) == 1


def test_max_attempts_failures_make_an_alert_dead_and_logged(db, hook, caplog):
    """After `max_attempts` failed attempts the alert is dead, with its last error, logged."""
    ident = queue_alert(db, channel="hook")
    settings = make_settings(webhook(hook.url(), secret=SECRET), max_attempts=2)
    hook.respond(502, b"bad gateway", times=5)
    with caplog.at_level(logging.INFO, logger="watcher.notify"):
        deliver(db, settings, now=T0)
        deliver(db, settings, now=status_of(db, ident).next_attempt)
    alert = status_of(db, ident)
    assert alert.status == "dead" and alert.attempts == 2
    assert "gave up after 2 attempts" in alert.last_error and "HTTP 502" in alert.last_error
    assert any(r.levelno == logging.ERROR and ident in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_channel_waits_behind_its_oldest_alert(db, hook):
    """Per channel, alerts go in creation order: a failing head holds back the rest."""
    ids = [queue_alert(db, channel="hook", title=f"Story {n}", created=T0 + n) for n in range(3)]
    settings = make_settings(webhook(hook.url()))
    hook.respond(500)
    deliver(db, settings, now=T0 + 10)
    assert [r.headers["x-watcher-delivery"] for r in hook.requests] == [ids[0]]
    assert [status_of(db, i).attempts for i in ids] == [1, 0, 0]
    deliver(db, settings, now=status_of(db, ids[0]).next_attempt)
    sent = [r.headers["x-watcher-delivery"] for r in hook.requests if r.status == 200]
    assert sent == ids


def test_permanent_failure_does_not_hold_back_the_next_alert(db, hook):
    """A dead alert is skipped; the alerts behind it still go in the same pass."""
    first = queue_alert(db, channel="hook", title="One", created=T0)
    second = queue_alert(db, channel="hook", title="Two", created=T0 + 1)
    hook.respond(400, b"bad request")
    deliver(db, make_settings(webhook(hook.url())), now=T0 + 5)
    assert status_of(db, first).status == "dead"
    assert status_of(db, second).status == "sent"


def test_sent_alert_is_never_sent_again(db, hook):
    """A second pass finds nothing: sent is final."""
    ident = queue_alert(db, channel="hook")
    settings = make_settings(webhook(hook.url()))
    deliver(db, settings, now=T0)
    again = deliver(db, settings, now=T0 + 86400)
    assert again.sent == 0
    assert hook.delivery_ids(accepted_only=False) == {ident: 1}


def test_retry_dead_queues_dead_alerts_again(db, hook):
    """`retry_dead` gives dead alerts a fresh attempt budget; they are then delivered."""
    ident = queue_alert(db, channel="hook")
    settings = make_settings(webhook(hook.url()))
    hook.respond(410)
    deliver(db, settings, now=T0)
    assert status_of(db, ident).status == "dead"
    assert outbox.retry_dead(db, T0 + 100) == [ident]
    assert status_of(db, ident).attempts == 0
    deliver(db, settings, now=T0 + 100)
    assert status_of(db, ident).status == "sent"


def test_alerts_of_a_channel_missing_from_the_config_become_dead(db, hook):
    """An alert whose channel was removed from the config is dead with the reason, not lost."""
    ident = queue_alert(db, channel="gone")
    report = deliver(db, make_settings(webhook(hook.url())))
    alert = status_of(db, ident)
    assert report.dead == 1 and alert.status == "dead" and alert.attempts == 0
    assert "'gone' is not in the config" in alert.last_error


# --- digests and caps ------------------------------------------------------------------


def test_digest_channel_sends_one_message_per_period(db, hook):
    """digest: 30m gathers the period's alerts into one {"type": "digest"} message."""
    period_start = T0 - T0 % 1800
    ids = [
        queue_alert(db, channel="hook", title=f"Story {n}", created=period_start + 60 * n)
        for n in range(3)
    ]
    later = queue_alert(db, channel="hook", title="Next period", created=period_start + 1800)
    settings = make_settings(webhook(hook.url(), digest="30m", secret=SECRET))

    assert deliver(db, settings, now=period_start + 1799).sent == 0
    assert hook.requests == []

    report = deliver(db, settings, now=period_start + 1800)
    assert report.sent == 3 and report.messages == 1
    (request,) = hook.requests
    body = request.json()
    assert set(body) == {"type", "id", "created", "alerts"}
    assert body["type"] == "digest" and _is_iso(body["created"])
    assert request.headers["x-watcher-delivery"] == body["id"]
    assert verify_signature(SECRET, request.headers["x-watcher-signature"], request.body)
    assert [a["id"] for a in body["alerts"]] == ids
    for alert in body["alerts"]:
        assert_contract_alert(alert)
    assert status_of(db, later).status == "pending"

    deliver(db, settings, now=period_start + 3600)
    assert [a["id"] for a in hook.requests[-1].json()["alerts"]] == [later]


def test_failed_digest_is_retried_as_one_message(db, hook):
    """A digest that fails is retried with the same alerts (and the same digest id)."""
    start = T0 - T0 % 600
    for n in range(2):
        queue_alert(db, channel="hook", title=f"S{n}", created=start + n)
    settings = make_settings(webhook(hook.url(), digest="10m"))
    hook.respond(503)
    deliver(db, settings, now=start + 600)
    retry_at = max(a.next_attempt for a in outbox.pending_alerts(db, "hook"))
    deliver(db, settings, now=retry_at)
    first, second = hook.requests
    assert first.json()["id"] == second.json()["id"]
    assert len(second.json()["alerts"]) == 2 and second.status == 200


def test_max_per_hour_holds_the_overflow_until_a_slot_frees(db, hook):
    """max_per_hour: 2 sends two; the third waits (not dropped) until the hour allows it."""
    ids = [queue_alert(db, channel="hook", title=f"S{n}", created=T0 + n) for n in range(3)]
    settings = make_settings(webhook(hook.url(), max_per_hour=2))
    report = deliver(db, settings, now=T0 + 10)
    assert report.sent == 2 and report.deferred == 1
    held = status_of(db, ids[2])
    assert held.status == "pending" and held.attempts == 0
    assert held.next_attempt == pytest.approx(T0 + 10 + 3600)
    assert deliver(db, settings, now=T0 + 1800).sent == 0
    assert deliver(db, settings, now=T0 + 3611).sent == 1
    assert hook.delivery_ids() == {i: 1 for i in ids}


def test_digest_overflow_over_max_per_hour_waits_for_the_next_digest(db, hook):
    """On a digest channel the capped overflow goes in a later digest, not dropped."""
    start = T0 - T0 % 1800
    ids = [queue_alert(db, channel="hook", title=f"S{n}", created=start + n) for n in range(5)]
    settings = make_settings(webhook(hook.url(), digest="30m", max_per_hour=3))
    deliver(db, settings, now=start + 1800)
    assert [a["id"] for a in hook.requests[0].json()["alerts"]] == ids[:3]
    assert deliver(db, settings, now=start + 3600).sent == 0  # the hour is not over yet
    deliver(db, settings, now=start + 1800 + 3600)
    assert [a["id"] for a in hook.requests[1].json()["alerts"]] == ids[3:]


def test_next_due_tells_the_daemon_when_to_come_back(db, hook):
    """next_due: the head's next attempt, or the end of its digest period; None when idle."""
    settings = make_settings(
        {
            "hook": {"type": "webhook", "url": hook.url()},
            "daily": {"type": "webhook", "url": hook.url(), "digest": "1d"},
        }
    )
    deliverer = Deliverer(db, settings)
    assert deliverer.next_due(T0) is None
    queue_alert(db, channel="daily", created=T0)
    assert deliverer.next_due(T0) == T0 - T0 % 86400 + 86400
    queue_alert(db, channel="hook", created=T0 + 5)
    assert deliverer.next_due(T0) == T0 + 5


# --- `watcher once` delivers while it polls ----------------------------------------------------


def test_deliver_until_sends_what_is_queued_meanwhile_and_finishes_its_pass(db, hook):
    """Alerts queued while `deliver_until` runs go out in its next pass; after `stop`,
    the pass under way ends normally and the report covers every pass."""
    first = queue_alert(db, channel="hook")
    settings = make_settings(webhook(hook.url()))

    async def run() -> DeliveryReport:
        deliverer = Deliverer(db, settings, clock=lambda: T0)
        stop = asyncio.Event()
        task = asyncio.create_task(deliver_until(deliverer, stop))
        while hook.delivery_ids() != {first: 1}:
            await asyncio.sleep(0.01)
        second = queue_alert(db, channel="hook", key="second")
        while second not in hook.delivery_ids():
            await asyncio.sleep(0.01)
        stop.set()
        try:
            return await task
        finally:
            await deliverer.aclose()

    report = asyncio.run(asyncio.wait_for(run(), 30))
    assert report.sent == 2 and report.pending == 0
    assert len(hook.requests) == 2


def test_reports_of_two_passes_add_up_and_keep_the_later_backlog() -> None:
    early = DeliveryReport({"hook": ChannelReport(sent=3, messages=3, failed=1, deferred=2)}, 5)
    later = DeliveryReport(
        {"hook": ChannelReport(sent=2, messages=1, dead=1), "mail": ChannelReport(sent=1)}, 0
    )
    both = early.then(later)
    assert (both.sent, both.messages, both.failed, both.dead) == (6, 4, 1, 1)
    assert (both.deferred, both.pending) == (0, 0)
