"""Feed health and adaptive polling end to end: a real feed server, real SQLite, the Poller.

Time is the Poller's `clock`, advanced by the test, never slept: "not polled within 60
minutes" is checked by stepping a small scheduler loop over simulated minutes.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import FeedServer
from tests.support.builders import Entry, make_config, rss
from tests.support.http_receiver import HttpReceiver
from watcher.config import Config
from watcher.fetch import Fetcher, FetchSettings
from watcher.notify.delivery import Deliverer
from watcher.pipeline import Poller, PollOutcome
from watcher.report import print_status
from watcher.store import feeds as feed_store
from watcher.store import open_database

T0 = 1_750_000_000.0
MINUTE, HOUR = 60.0, 3600.0
WEATHER = Entry("w1", "Heatwave in Spain", ["Seville reached 44 degrees on Friday."])


class Clock:
    """The time the Poller sees; tests move it."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    """One database and one Poller over a config, polled at simulated times."""

    def __init__(self, config: Config, clock: Clock):
        self.config, self.clock = config, clock
        self.db = open_database(config.database_path)
        feed_store.sync_feeds(self.db, config.feeds, clock.now)

    def feed(self, url: str) -> feed_store.FeedState:
        state = feed_store.feed_by_url(self.db, url)
        assert state is not None
        return state

    def poll(self, url: str, at: float | None = None) -> PollOutcome:
        if at is not None:
            self.clock.now = at

        async def run() -> PollOutcome:
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                poller = Poller(self.db, self.config, fetcher, rng=random.Random(3),
                                clock=self.clock)  # fmt: skip
                return await poller.poll(self.feed(url))

        return asyncio.run(run())

    def run_schedule(
        self,
        url: str,
        until: float,
        step: float,
        before_poll: Callable[[float], None] | None = None,
    ) -> list[float]:
        """A scheduler in miniature: every `step`, poll the feed if it is due; poll times."""
        polled = []
        now = self.clock.now
        while now <= until:
            if any(f.config_url == url for f in feed_store.due_feeds(self.db, now)):
                if before_poll is not None:
                    before_poll(now)
                self.poll(url, at=now)
                polled.append(now)
            now += step
        return polled

    def health_alerts(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT channel, payload FROM alerts WHERE kind = 'health' ORDER BY created, rowid"
        ).fetchall()
        return [(channel, json.loads(payload)) for channel, payload in rows]

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def harness_for(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(feeds: list, clock: Clock | None = None, **extra: Any) -> Harness:
        config = make_config(
            tmp_path,
            feeds,
            channels={"screen": {"type": "console"}, "ops": {"type": "console"}},
            extra={"health": {"channels": ["ops"]}, **extra},
        )
        made.append(Harness(config, clock or Clock()))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def with_ttl(body: str, minutes: int) -> str:
    return body.replace("<channel>", f"<channel><ttl>{minutes}</ttl>", 1)


def test_a_feed_answering_403_five_times_raises_one_health_alert_then_one_recovery(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/walled", "Access denied", status=403, content_type="text/html")
    h = harness_for([url])
    for n in range(8):  # five to alert, three more that must not alert again
        assert h.poll(url, at=T0 + n * MINUTE).status == "failed"
    alerts = h.health_alerts()
    assert [(channel, body["state"]) for channel, body in alerts] == [("ops", "failing")]
    body = alerts[0][1]
    assert body["feed"]["url"] == url and "HTTP 403" in body["reason"]
    assert body["since"] == "2025-06-15T15:06:40Z"  # the first failure, not the fifth
    assert "user_agent" in body["advice"]

    feed_server.add("/walled", rss([WEATHER]))
    assert h.poll(url, at=T0 + 10 * MINUTE).ok
    assert h.poll(url, at=T0 + 20 * MINUTE).ok
    states = [(channel, body["state"]) for channel, body in h.health_alerts()]
    assert states == [("ops", "failing"), ("ops", "recovered")]
    assert h.db.execute("SELECT COUNT(*) FROM alerts WHERE channel = 'screen'").fetchone() == (0,)


def test_health_alerts_are_delivered_as_health_json_on_the_webhook(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/gone", "gone", status=410)
    with HttpReceiver() as receiver:
        config = make_config(
            tmp_path,
            [url],
            channels={"screen": {"type": "console"},
                      "ops": {"type": "webhook", "url": receiver.url(), "digest": "1h"}},
            extra={"health": {"channels": ["ops"]}},
        )  # fmt: skip
        h = Harness(config, Clock())
        try:
            assert h.poll(url).status == "gone"

            async def deliver() -> None:
                async with Deliverer(h.db, config, clock=lambda: T0 + 1) as deliverer:
                    report = await deliverer.deliver_due(T0 + 1)
                assert report.sent == 1

            asyncio.run(deliver())  # a digest channel sends health alerts at once, alone
        finally:
            h.close()
        (request,) = receiver.requests
    body = request.json()
    assert body["type"] == "health" and body["state"] == "gone"
    assert set(body) >= {"id", "created", "feed", "reason", "since", "advice"}
    assert request.headers["x-watcher-delivery"] == body["id"]


def test_a_feed_with_ttl_60_is_not_polled_again_within_60_minutes(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/ttl", with_ttl(rss([WEATHER]), 60))
    h = harness_for([{"url": url, "interval": "1m", "max_interval": "2h"}])
    polls = h.run_schedule(url, until=T0 + 130 * MINUTE, step=MINUTE)
    assert len(polls) >= 2
    assert all(b - a >= 60 * MINUTE for a, b in itertools.pairwise(polls))
    assert feed_server.hits("/ttl") == len(polls)
    state = h.feed(url)
    assert (state.poll_interval, state.poll_basis, state.ttl_hint) == (HOUR, "ttl", HOUR)


def test_the_ttl_is_remembered_across_304_answers(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/ttl", with_ttl(rss([WEATHER]), 30), etag='"v1"')
    h = harness_for([{"url": url, "interval": "1m"}])
    h.poll(url, at=T0)
    assert h.poll(url, at=T0 + HOUR).status == "not-modified"
    state = h.feed(url)
    assert state.next_due is not None and state.next_due >= T0 + HOUR + 30 * MINUTE


def test_a_huge_ttl_is_clamped_to_max_interval(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/ttl", with_ttl(rss([WEATHER]), 7 * 24 * 60))
    h = harness_for([{"url": url, "interval": "5m", "max_interval": "2h"}])
    h.poll(url, at=T0)
    state = h.feed(url)
    assert state.poll_basis == "max_interval"
    assert state.next_due is not None and T0 + 2 * HOUR <= state.next_due <= T0 + 2 * HOUR + 60


def test_cache_control_max_age_sets_the_earliest_next_poll(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/cached", rss([WEATHER]), headers={"Cache-Control": "max-age=1800"})
    h = harness_for([{"url": url, "interval": "1m"}])
    h.poll(url, at=T0)
    state = h.feed(url)
    assert (state.poll_interval, state.poll_basis) == (1800.0, "max-age")
    assert state.next_due is not None and state.next_due >= T0 + 1800


def test_interval_auto_converges_on_a_feed_publishing_every_10_minutes(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    """The feed starts publishing at T0, one item every 10 minutes; watcher starts at 10m
    (no history) and settles on half the gap, 5m, as the history builds up."""
    url = feed_server.add("/busy", rss([]))

    def publish_until(now: float) -> None:
        count = int((now - T0) // (10 * MINUTE)) + 1
        entries = [
            Entry(f"n{k}", f"Bulletin {k}", [f"Bulletin number {k} of the day."],
                  datetime.fromtimestamp(T0 + k * 10 * MINUTE, UTC))
            for k in reversed(range(count))
        ][:20]  # fmt: skip
        feed_server.add("/busy", rss(entries))

    h = harness_for([{"url": url, "interval": "auto", "min_interval": "2m"}])
    polls = h.run_schedule(url, until=T0 + 4 * HOUR, step=30, before_poll=publish_until)
    state = h.feed(url)
    assert (state.poll_interval, state.poll_basis) == (5 * MINUTE, "auto")
    assert polls[1] - polls[0] >= 10 * MINUTE  # it started from the 10m default
    last_hour = [t for t in polls if t > T0 + 3 * HOUR]
    assert 10 <= len(last_hour) <= 13  # every ~5 minutes, jitter included

    out = io.StringIO()
    print_status(h.db, h.config, now=h.clock.now, out=out)
    assert "5m auto" in out.getvalue()


def test_a_feed_silent_far_longer_than_usual_raises_one_stale_alert_and_recovers(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    hourly = [
        Entry(f"h{k}", f"Hourly update {k}", [f"Update number {k}."],
              datetime.fromtimestamp(T0 - k * HOUR, UTC))
        for k in range(12)
    ]  # fmt: skip
    url = feed_server.add("/quiet", rss(hourly))
    h = harness_for([url])
    h.poll(url, at=T0)
    for hours in (2, 8, 10, 12):  # longest gap 1h, floor 6h: stale after 6h of silence
        h.poll(url, at=T0 + hours * HOUR)
    assert [b["state"] for _, b in h.health_alerts()] == ["stale"]
    stale = h.health_alerts()[0][1]
    assert stale["since"] == "2025-06-15T15:06:40Z" and "no new item for 8h" in stale["reason"]
    out = io.StringIO()
    print_status(h.db, h.config, now=T0 + 12 * HOUR, out=out)
    assert "stale" in out.getvalue() and "silent: no new item" in out.getvalue()

    fresh = Entry("new", "A new update", ["Something happened."],
                  datetime.fromtimestamp(T0 + 13 * HOUR, UTC))  # fmt: skip
    feed_server.add("/quiet", rss([fresh, *hourly]))
    h.poll(url, at=T0 + 13 * HOUR)
    assert [b["state"] for _, b in h.health_alerts()] == ["stale", "recovered"]
    assert h.feed(url).health_state == "ok"


def test_a_permanent_redirect_raises_one_moved_alert_with_both_urls(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    new = feed_server.add("/new", rss([WEATHER]))
    old = feed_server.redirect("/old", new, status=308)
    h = harness_for([old])
    h.poll(old, at=T0)
    h.poll(old, at=T0 + HOUR)
    (moved,) = [b for _, b in h.health_alerts()]
    assert moved["state"] == "moved" and moved["moved_to"] == new
    assert old in moved["advice"] and new in moved["advice"]
    out = io.StringIO()
    print_status(h.db, h.config, now=T0 + HOUR, out=out)
    assert f"moved permanently to {new}" in out.getvalue()


def test_status_shows_a_failing_feed_in_red_with_reason_and_since(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/down", "busy", status=503)
    h = harness_for([url])
    for n in range(5):
        h.poll(url, at=T0 + n * MINUTE)
    out = io.StringIO()
    print_status(h.db, h.config, now=T0 + 3 * HOUR, color=True, out=out)
    line = next(line for line in out.getvalue().splitlines() if "fail×5" in line)
    assert "\033[31mfail×5" in line
    assert "\033[31mHTTP 503 (since 3h ago)" in line


def test_a_failing_feed_keeps_being_retried_within_the_backoff_cap(
    feed_server: FeedServer, harness_for: Callable[..., Harness]
) -> None:
    url = feed_server.add("/down", "busy", status=500)
    h = harness_for([url])
    polls = h.run_schedule(url, until=T0 + 48 * HOUR, step=5 * MINUTE)
    assert len(polls) >= 8  # never given up on: 2 days at most 6h apart
    assert all(b - a <= 6 * HOUR + 5 * MINUTE for a, b in itertools.pairwise(polls))
    assert [b["state"] for _, b in h.health_alerts()] == ["failing"]
