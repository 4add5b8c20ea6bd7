"""When to poll next (watcher.polling): pure functions with fixed times, no clock, no I/O."""

from __future__ import annotations

import random

import pytest

from watcher.polling import (
    Bounds,
    Hints,
    PublishStats,
    auto_interval,
    feed_hint,
    next_poll,
    publish_stats,
    publish_time,
    retry_delay,
)

NOW = 1_750_000_000.0
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
FIXED = Bounds(interval=10 * MINUTE, min_interval=2 * MINUTE, max_interval=HOUR)
NO_HISTORY = PublishStats()


def every(gap: float, count: int, end: float = NOW) -> list[tuple[float | None, float]]:
    """(published, first_seen) of `count` items published every `gap` seconds until `end`."""
    return [(end - gap * k, end - gap * k + 30) for k in range(count)]


def test_without_hints_a_fixed_interval_is_kept() -> None:
    decision = next_poll(FIXED, Hints(), NO_HISTORY, NOW)
    assert (decision.delay, decision.basis) == (600.0, "fixed")


def test_a_ttl_longer_than_the_interval_delays_the_next_poll_to_it() -> None:
    decision = next_poll(FIXED, Hints(ttl=45 * MINUTE), NO_HISTORY, NOW)
    assert (decision.delay, decision.basis) == (45 * MINUTE, "ttl")


def test_a_hint_shorter_than_the_interval_never_makes_polling_more_frequent() -> None:
    decision = next_poll(FIXED, Hints(max_age=30, ttl=5 * MINUTE), NO_HISTORY, NOW)
    assert (decision.delay, decision.basis) == (600.0, "fixed")


def test_a_huge_ttl_is_clamped_to_max_interval() -> None:
    """A feed asking for a week must not stop polling for a week."""
    decision = next_poll(FIXED, Hints(ttl=7 * DAY), NO_HISTORY, NOW)
    assert (decision.delay, decision.basis) == (HOUR, "max_interval")


def test_a_fixed_interval_longer_than_max_interval_is_not_shortened() -> None:
    bounds = Bounds(interval=2 * HOUR, max_interval=HOUR)
    assert next_poll(bounds, Hints(ttl=DAY), NO_HISTORY, NOW).delay == 2 * HOUR


def test_max_age_wins_over_expires_and_the_longest_of_max_age_and_ttl_counts() -> None:
    assert feed_hint(Hints(max_age=900, expires_in=3000)) == (900, "max-age")
    assert feed_hint(Hints(expires_in=1200)) == (1200, "expires")
    assert feed_hint(Hints(max_age=900, ttl=1800)) == (1800, "ttl")
    assert feed_hint(Hints(max_age=0, expires_in=0, ttl=None)) is None


def test_auto_learns_half_the_gap_of_a_feed_publishing_every_10_minutes() -> None:
    stats = publish_stats(every(10 * MINUTE, 40))
    assert stats.typical_gap == 10 * MINUTE and stats.gaps == 39
    bounds = Bounds(interval=10 * MINUTE, auto=True, min_interval=MINUTE, max_interval=HOUR)
    decision = next_poll(bounds, Hints(), stats, NOW + MINUTE)
    assert (decision.delay, decision.basis) == (5 * MINUTE, "auto")


@pytest.mark.parametrize(
    ("gap", "expected"),
    [(30.0, 2 * MINUTE), (10 * MINUTE, 5 * MINUTE), (40 * MINUTE, 20 * MINUTE), (DAY, HOUR)],
    ids=["busy-floor", "10-minutes", "40-minutes", "daily-ceiling"],
)
def test_auto_polls_frequent_feeds_often_and_quiet_ones_rarely_within_bounds(
    gap: float, expected: float
) -> None:
    bounds = Bounds(interval=10 * MINUTE, auto=True, min_interval=2 * MINUTE, max_interval=HOUR)
    stats = publish_stats(every(gap, 30))
    assert auto_interval(stats, NOW, bounds) == expected


def test_auto_ignores_bursts_and_one_long_night_in_favour_of_the_usual_gap() -> None:
    history = every(10 * MINUTE, 30)
    burst = [(NOW - 5 * MINUTE + s, NOW) for s in range(5)]  # five items a second apart
    night = [(NOW - 30 * 10 * MINUTE - 8 * HOUR, NOW - 30 * 10 * MINUTE - 8 * HOUR)]
    stats = publish_stats(history + burst + night)
    assert 5 * MINUTE <= stats.typical_gap <= 10 * MINUTE
    assert stats.long_gap is not None and stats.long_gap >= 8 * HOUR


def test_auto_stretches_for_a_feed_silent_far_longer_than_usual() -> None:
    bounds = Bounds(interval=10 * MINUTE, auto=True, min_interval=2 * MINUTE, max_interval=HOUR)
    stats = publish_stats(every(10 * MINUTE, 30, end=NOW - 2 * DAY))
    assert auto_interval(stats, NOW, bounds) == HOUR
    assert auto_interval(stats, NOW - 2 * DAY + MINUTE, bounds) == 5 * MINUTE


def test_auto_with_too_little_history_starts_from_the_configured_interval() -> None:
    bounds = Bounds(interval=10 * MINUTE, auto=True, min_interval=2 * MINUTE, max_interval=HOUR)
    assert auto_interval(publish_stats(every(MINUTE, 2)), NOW, bounds) == 10 * MINUTE
    assert auto_interval(NO_HISTORY, NOW, bounds) == 10 * MINUTE


def test_items_listed_at_the_same_second_are_one_publication() -> None:
    stats = publish_stats([(NOW, NOW)] * 20)
    assert (stats.gaps, stats.typical_gap, stats.last) == (0, None, NOW)


def test_implausible_publish_dates_fall_back_to_first_seen() -> None:
    assert publish_time(NOW - HOUR, NOW) == NOW - HOUR
    assert publish_time(None, NOW) == NOW
    assert publish_time(0.0, NOW) == NOW  # 1970: a placeholder
    assert publish_time(NOW + DAY, NOW) == NOW  # from the future


def test_retry_backoff_is_capped_and_honours_retry_after_within_the_cap() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, interval=600, retry_after=None, rng=rng) for n in range(1, 40)]
    assert all(0 <= d <= 6 * HOUR for d in delays)
    assert retry_delay(1, interval=600, retry_after=HOUR, rng=rng) >= HOUR
    assert retry_delay(1, interval=600, retry_after=30 * DAY, rng=rng) == 6 * HOUR
