"""Feed health decisions (watcher.health): pure, with fixed times and stored records."""

from __future__ import annotations

import pytest

from watcher.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    ResponseTooLarge,
    TooManyRedirects,
)
from watcher.health import (
    FAILING,
    GONE,
    OK,
    STALE,
    HealthRecord,
    HealthSettings,
    Transition,
    after_failure,
    after_success,
    classify,
    health_alert_id,
    health_body,
    span,
    stale_threshold,
)
from watcher.polling import PublishStats

NOW = 1_750_000_000.0
HOUR, DAY = 3600.0, 86400.0
SETTINGS = HealthSettings(failures=5, stale_after="auto", stale_floor=6 * HOUR)
URL = "https://example.org/rss"
HOURLY = PublishStats(last=NOW, typical_gap=HOUR, long_gap=10 * HOUR, gaps=100)


def fail(record: HealthRecord, failures: int, exc: Exception | None = None) -> Transition:
    return after_failure(
        record,
        problem=classify(exc or HTTPStatusError(URL, 403)),
        failures=failures,
        failing_since=NOW - 100,
        now=NOW + failures,
        settings=SETTINGS,
    )


def succeed(
    record: HealthRecord, *, silent_since: float = NOW, stats: PublishStats = HOURLY, **kw
) -> Transition:
    return after_success(
        record, now=NOW + 10, silent_since=silent_since, stats=stats, settings=SETTINGS, **kw
    )


def test_five_failures_in_a_row_raise_exactly_one_failing_notice() -> None:
    record, notices = HealthRecord(), []
    for failures in range(1, 9):
        transition = fail(record, failures)
        record = transition.record
        notices.extend(transition.notices)
    assert [n.state for n in notices] == [FAILING]
    (notice,) = notices
    assert notice.since == NOW - 100 and "5 failed polls in a row: HTTP 403" in notice.reason
    assert "user_agent" in notice.advice  # a 403 says what to do about a bot wall
    assert record.state == FAILING and record.alerted and "8 failed polls" in (record.reason or "")


def test_recovery_after_an_alerted_failure_raises_one_recovered_notice() -> None:
    record = HealthRecord(FAILING, NOW - 100, True, "5 failed polls in a row: HTTP 403")
    transition = succeed(record)
    assert [n.state for n in transition.notices] == ["recovered"]
    assert transition.record == HealthRecord()
    assert "HTTP 403" in transition.notices[0].reason
    assert succeed(transition.record).notices == ()  # and never again


def test_a_few_failures_below_the_threshold_then_success_say_nothing() -> None:
    record = HealthRecord()
    for failures in range(1, 5):
        transition = fail(record, failures)
        assert transition.notices == ()
        record = transition.record
    assert succeed(record).notices == ()


def test_410_raises_gone_at_once_with_advice() -> None:
    transition = fail(HealthRecord(), 1, HTTPStatusError(URL, 410))
    (notice,) = transition.notices
    assert notice.state == GONE and transition.record.state == GONE
    assert "remove it from the config" in notice.advice.lower()


def test_a_feed_silent_longer_than_its_history_allows_is_stale_once_then_recovers() -> None:
    silent_since = NOW - 20 * HOUR  # longest usual gap 10h: 1.5x is 15h
    stale = succeed(HealthRecord(), silent_since=silent_since)
    (notice,) = stale.notices
    assert notice.state == STALE and notice.since == silent_since
    assert "no new item for 20h" in notice.reason and "10h" in notice.reason
    assert succeed(stale.record, silent_since=silent_since).notices == ()  # once
    back = succeed(stale.record, silent_since=NOW)
    assert [n.state for n in back.notices] == ["recovered"] and back.record.state == OK


def test_a_usual_nightly_pause_is_not_stale() -> None:
    assert succeed(HealthRecord(), silent_since=NOW - 12 * HOUR).notices == ()


@pytest.mark.parametrize(
    ("settings", "stats", "expected"),
    [
        (SETTINGS, HOURLY, 15 * HOUR),
        (SETTINGS, PublishStats(NOW, 60.0, 600.0, 100), 6 * HOUR),  # the floor
        (SETTINGS, PublishStats(NOW, HOUR, 2 * HOUR, 2), 7 * DAY),  # too little history
        (HealthSettings(stale_after=3 * HOUR), HOURLY, 3 * HOUR),
        (HealthSettings(stale_after="off"), HOURLY, None),
    ],
    ids=["learned", "floor", "no-history", "fixed", "off"],
)
def test_stale_threshold(
    settings: HealthSettings, stats: PublishStats, expected: float | None
) -> None:
    assert stale_threshold(settings, stats) == expected


def test_a_permanent_redirect_raises_one_moved_notice_naming_both_urls() -> None:
    new = "https://example.org/new-rss"
    (notice,) = succeed(HealthRecord(), moved_from=URL, moved_to=new).notices
    assert notice.state == "moved" and notice.moved_to == new
    assert URL in notice.advice and new in notice.advice


def test_recovering_into_a_stale_feed_gives_both_notices() -> None:
    record = HealthRecord(FAILING, NOW - 100, True, "x")
    transition = succeed(record, silent_since=NOW - 3 * DAY)
    assert [n.state for n in transition.notices] == ["recovered", STALE]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (HTTPStatusError(URL, 401), "unauthorized"),
        (HTTPStatusError(URL, 404), "not-found"),
        (HTTPStatusError(URL, 429, 60), "rate-limited"),
        (HTTPStatusError(URL, 503), "server"),
        (FetchError(URL, "cannot resolve host 'x.invalid' (DNS: Name not known)"), "dns"),
        (FetchError(URL, "connection refused by x:80 (is the server down?)"), "refused"),
        (FetchTimeout(URL, "read timeout"), "timeout"),
        (ResponseTooLarge(URL, "over the 1MB limit"), "too-large"),
        (TooManyRedirects(URL, "redirect loop: A -> B -> A"), "redirects"),
        (ParseError("not a feed: an HTML page"), "not-a-feed"),
    ],
)
def test_failures_are_classified_for_advice(exc: Exception, kind: str) -> None:
    assert classify(exc).kind == kind  # type: ignore[arg-type]


def test_the_alert_id_is_stable_per_feed_episode_and_channel() -> None:
    a = health_alert_id(URL, "failing:1", "ops")
    assert a == health_alert_id(URL, "failing:1", "ops")
    assert (
        len({a, health_alert_id(URL, "failing:2", "ops"), health_alert_id(URL, "failing:1", "x")})
        == 3
    )


def test_the_webhook_body_has_the_health_shape() -> None:
    (notice,) = fail(HealthRecord(), 5).notices
    body = health_body(notice, alert_id="abc", created=NOW, feed_name="Example", feed_url=URL)
    assert set(body) == {"type", "id", "created", "feed", "state", "reason", "since", "advice"}
    assert body["type"] == "health" and body["state"] == "failing"
    assert body["feed"] == {"name": "Example", "url": URL}
    assert body["since"].endswith("Z") and body["created"].endswith("Z")


def test_span_reads_like_a_person_would_write_it() -> None:
    assert [span(s) for s in (0, 45, 90, 3600, 3 * DAY + 4 * HOUR + 5)] == [
        "0s", "45s", "1m 30s", "1h", "3d 4h"
    ]  # fmt: skip
