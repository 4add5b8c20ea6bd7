"""When to poll a feed next: pure functions, `now` passed in, no I/O.

Three things decide the next poll after a good one:

- the base interval: the feed's fixed `interval:`, or with `interval: auto` one learned
  from when the feed actually publishes (`auto_interval` over `PublishStats`);
- the feed's own hints, which are a *lower* bound ("do not ask again before"):
  Cache-Control max-age (else Expires) and RSS `<ttl>` / `sy:updatePeriod`;
- the bounds: a hint never pushes a poll past `max_interval` (a feed saying `<ttl>` of a
  week must not stop polling for days), and a learned interval stays within
  `[min_interval, max_interval]`.

After a failed poll, `retry_delay` backs off exponentially (capped) and honours
Retry-After, also capped: a failing feed is retried for as long as it is configured.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.fetch import backoff_delay

AUTO_FACTOR = 0.5  # poll twice per usual gap between publications: new items wait ~gap/4
OPEN_GAP_SHARE = 0.25  # the share of an unusually long current silence that counts as a gap
MIN_GAPS = 3  # fewer gaps than this: too little history to learn an interval from
RECENT_GAPS = 50  # the typical gap is the median of this many most recent gaps
FUTURE_SLACK = 3600.0  # a pubDate this far after we first saw the item is not believed
EARLIEST_PLAUSIBLE = 946684800.0  # 2000-01-01: older dates are placeholders, not history

BACKOFF_BASE = 60.0
BACKOFF_CAP = 6 * 3600.0


@dataclass(frozen=True)
class Bounds:
    """A feed's polling settings once defaults are applied (seconds)."""

    interval: float  # the fixed interval, or the starting point of `auto`
    auto: bool = False
    min_interval: float = 120.0
    max_interval: float = 3600.0


@dataclass(frozen=True)
class Hints:
    """What the last response said about polling again (seconds, None when silent)."""

    max_age: float | None = None  # Cache-Control: max-age
    expires_in: float | None = None  # Expires, relative to the response's Date
    ttl: float | None = None  # RSS <ttl> or sy:updatePeriod/sy:updateFrequency


@dataclass(frozen=True)
class Decision:
    """The delay until the next poll and why (`basis` is shown by `watcher status`)."""

    delay: float
    basis: str  # fixed | auto | ttl | max-age | expires | max_interval


@dataclass(frozen=True)
class PublishStats:
    """What a feed's publish history says about its rhythm."""

    last: float | None = None  # when a new item last appeared
    typical_gap: float | None = None  # median of the recent gaps between publications
    long_gap: float | None = None  # the longest gap in the history
    gaps: int = 0  # how many gaps the figures come from


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def feed_hint(hints: Hints) -> tuple[float, str] | None:
    """The longest wait the feed asks for, and which header or element asked.

    max-age takes precedence over Expires (RFC 9111 §5.3); the feed's ttl is a separate
    request and the longer of the two wins: never poll more often than the feed asks.
    """
    candidates: list[tuple[float, str]] = []
    if hints.max_age is not None and hints.max_age > 0:
        candidates.append((hints.max_age, "max-age"))
    elif hints.expires_in is not None and hints.expires_in > 0:
        candidates.append((hints.expires_in, "expires"))
    if hints.ttl is not None and hints.ttl > 0:
        candidates.append((hints.ttl, "ttl"))
    return max(candidates) if candidates else None


def next_poll(bounds: Bounds, hints: Hints, stats: PublishStats, now: float) -> Decision:
    """The delay before the next poll after a good one (before jitter).

    The base is the fixed interval or the learned one; a hint may only lengthen it, and
    never beyond `max_interval` (or the fixed interval, when that is longer still).
    """
    if bounds.auto:
        base, basis = auto_interval(stats, now, bounds), "auto"
    else:
        base, basis = bounds.interval, "fixed"
    hint = feed_hint(hints)
    if hint is None or hint[0] <= base:
        return Decision(base, basis)
    ceiling = max(bounds.max_interval, base)
    if hint[0] > ceiling:
        return Decision(ceiling, "max_interval")
    return Decision(hint[0], hint[1])


def auto_interval(stats: PublishStats, now: float, bounds: Bounds) -> float:
    """`interval: auto`: half the feed's typical gap between publications, within bounds.

    The typical gap is the median of recent gaps, so a burst of items or one long night
    does not swing it. A silence longer than usual stretches it gently (a quarter of the
    silence counts as a gap), so a feed that has stopped is polled rarely, and one item
    brings the short interval back at once. Too little history: the starting interval.
    """
    if stats.typical_gap is None or stats.gaps < MIN_GAPS:
        return clamp(bounds.interval, bounds.min_interval, bounds.max_interval)
    gap = stats.typical_gap
    if stats.last is not None:
        gap = max(gap, (now - stats.last) * OPEN_GAP_SHARE)
    return clamp(gap * AUTO_FACTOR, bounds.min_interval, bounds.max_interval)


def publish_time(published: float | None, first_seen: float) -> float:
    """When an item was published, as far as can be believed.

    The feed's date when it is plausible (not after we first saw the item, give or take
    an hour of clock skew, and not a placeholder like 1970), else when we first saw it.
    """
    if published is None or published < EARLIEST_PLAUSIBLE:
        return first_seen
    if published > first_seen + FUTURE_SLACK:
        return first_seen
    return published


def publish_stats(history: Iterable[tuple[float | None, float]]) -> PublishStats:
    """Summarise (published, first_seen) pairs of a feed's items, in any order.

    Items published at the same second count once (a feed listing five items at once
    published once). `last` is the latest first sighting: the last time the feed had
    something new for us, whatever its items claim.
    """
    rows = list(history)
    if not rows:
        return PublishStats()
    last = max(first_seen for _published, first_seen in rows)
    times = sorted({round(publish_time(p, f)) for p, f in rows})
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if not gaps:
        return PublishStats(last=last)
    recent = gaps[-RECENT_GAPS:]
    return PublishStats(
        last=last,
        typical_gap=float(statistics.median(recent)),
        long_gap=float(max(gaps)),
        gaps=len(gaps),
    )


def retry_delay(
    failures: int,
    *,
    interval: float,
    retry_after: float | None,
    rng: random.Random,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> float:
    """Seconds before retrying a feed that failed `failures` times in a row.

    Exponential with full jitter, capped at `cap` (or the feed's own interval when that
    is longer). Retry-After is honoured, within the same cap: a server asking for a week
    does not silence a feed for a week.
    """
    ceiling = max(cap, interval)
    delay = backoff_delay(failures, base=base, cap=ceiling, rng=rng)
    if retry_after:
        delay = max(delay, min(retry_after, ceiling))
    return delay
