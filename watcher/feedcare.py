"""After each poll: record it, choose the next poll, and keep the feed's health.

The database side of watcher.polling (when to poll next) and watcher.health (when to tell
the operator): the Poller calls `record_success` or `record_failure` once per poll, and
each writes the poll's outcome, the schedule, the health episode and any feed health
alerts in one transaction, so a crash never records a failure without its alert.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import sqlite_utils

from watcher import health, polling
from watcher.config import Config, FeedSpec
from watcher.config.load import AUTO_START
from watcher.errors import FetchError, ParseError
from watcher.fetch import FetchResult
from watcher.model import ParsedFeed
from watcher.store import feeds as feed_store
from watcher.store import outbox
from watcher.store.db import transaction
from watcher.store.feeds import FeedState

log = logging.getLogger(__name__)

HEALTH_KIND = "health"


def default_spec(config: Config, url: str) -> FeedSpec:
    """The settings of a feed that is no longer in the config (polled until it is synced)."""
    d = config.settings.defaults
    auto = d.interval == "auto"
    start = min(max(AUTO_START, d.min_interval), d.max_interval)
    return FeedSpec(
        url=url,
        name=None,
        interval=start if auto else float(d.interval),
        timeout=d.timeout,
        max_bytes=d.max_bytes,
        auto=auto,
        min_interval=d.min_interval,
        max_interval=d.max_interval,
    )


def bounds_for(spec: FeedSpec) -> polling.Bounds:
    return polling.Bounds(spec.interval, spec.auto, spec.min_interval, spec.max_interval)


def health_settings(config: Config) -> health.HealthSettings:
    h = config.settings.health
    return health.HealthSettings(h.failures, h.stale_after, h.stale_floor)


def stats_of(feed: FeedState) -> polling.PublishStats:
    return polling.PublishStats(feed.last_item_at, feed.typical_gap, feed.long_gap, feed.gap_count)


def record_of(feed: FeedState) -> health.HealthRecord:
    return health.HealthRecord(
        feed.health_state or health.OK,
        feed.health_since,
        bool(feed.health_alerted),
        feed.health_reason,
    )


def current_interval(feed: FeedState, spec: FeedSpec) -> float:
    """The interval the feed is polled at now: as last chosen, else the configured one."""
    return feed.poll_interval if spec.auto and feed.poll_interval else spec.interval


def refresh_history(
    db: sqlite_utils.Database, feed: FeedState, *, now: float, force: bool
) -> polling.PublishStats:
    """The feed's publish statistics: summarised again when it had new items."""
    if not force and feed.history_at is not None:
        return stats_of(feed)
    stats = polling.publish_stats(feed_store.publish_history(db, feed.id))
    feed_store.record_history(
        db,
        feed.id,
        now=now,
        typical_gap=stats.typical_gap,
        long_gap=stats.long_gap,
        gap_count=stats.gaps,
        last_item_at=stats.last,
    )
    return stats


def record_success(
    db: sqlite_utils.Database,
    config: Config,
    feed: FeedState,
    spec: FeedSpec,
    fetched: FetchResult,
    *,
    now: float,
    rng: random.Random,
    parsed: ParsedFeed | None = None,
    new_items: int = 0,
) -> polling.Decision:
    """One good poll: its state, the next poll (hints and bounds), health; atomically.

    `parsed` is None when the body was not parsed (304, or the same bytes as last time):
    the feed's ttl is then the one stored from its last parsed body.
    """
    with transaction(db):
        stats = refresh_history(db, feed, now=now, force=new_items > 0)
        ttl = parsed.ttl_seconds if parsed is not None else feed.ttl_hint
        hints = polling.Hints(fetched.max_age, fetched.expires_in, ttl)
        decision = polling.next_poll(bounds_for(spec), hints, stats, now)
        jitter = rng.uniform(0, min(decision.delay * 0.1, 60.0))
        feed_store.record_success(
            db,
            feed.id,
            now=now,
            next_due=now + decision.delay + jitter,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=fetched.body_hash,
            title=parsed.title if parsed is not None else None,
            moved_to=fetched.permanent_redirect,
            warning=parsed.warning if parsed is not None else None,
            new_items=new_items,
        )
        feed_store.record_schedule(
            db, feed.id, poll_interval=decision.delay, basis=decision.basis, ttl_hint=ttl
        )
        moved = fetched.permanent_redirect
        transition = health.after_success(
            record_of(feed),
            now=now,
            silent_since=stats.last if stats.last is not None else feed.created,
            stats=stats,
            settings=health_settings(config),
            moved_from=feed.url if moved else None,
            moved_to=moved,
        )
        _apply(db, config, feed, transition, now)
    return decision


def record_failure(
    db: sqlite_utils.Database,
    config: Config,
    feed: FeedState,
    spec: FeedSpec,
    exc: FetchError | ParseError,
    *,
    now: float,
    rng: random.Random,
) -> tuple[health.Problem, float | None]:
    """One failed poll: count it, schedule the retry (none after 410), health; atomically.

    Returns the problem and the retry delay (None when the feed is gone).
    """
    problem = health.classify(exc)
    gone = problem.kind == "gone"
    failures = feed.failures + 1
    delay = None
    if not gone:
        delay = polling.retry_delay(
            failures,
            interval=current_interval(feed, spec),
            retry_after=getattr(exc, "retry_after", None),
            rng=rng,
        )
    with transaction(db):
        feed_store.record_failure(
            db,
            feed.id,
            now=now,
            error=problem.reason,
            next_due=None if delay is None else now + delay,
            gone=gone,
        )
        transition = health.after_failure(
            record_of(feed),
            problem=problem,
            failures=failures,
            failing_since=feed.failing_since if feed.failing_since is not None else now,
            now=now,
            settings=health_settings(config),
        )
        _apply(db, config, feed, transition, now)
    return problem, delay


def _apply(
    db: sqlite_utils.Database,
    config: Config,
    feed: FeedState,
    transition: health.Transition,
    now: float,
) -> None:
    record = transition.record
    if record != record_of(feed):
        feed_store.record_health(
            db,
            feed.id,
            state=record.state,
            since=record.since,
            alerted=record.alerted,
            reason=record.reason,
        )
    if transition.notices:
        queue_notices(db, config, feed, transition.notices, now)


def queue_notices(
    db: sqlite_utils.Database,
    config: Config,
    feed: FeedState,
    notices: Sequence[health.Notice],
    now: float,
) -> list[str]:
    """Log each notice and queue it on every `health.channels` channel; the ids queued."""
    queued = []
    channels = config.settings.health.channels
    for notice in notices:
        if notice.state in (health.FAILING, health.STALE):
            log.warning(
                "feed %s is %s: %s. %s", feed.config_url, notice.state, notice.reason, notice.advice
            )
        for channel in channels:
            ident = health.health_alert_id(feed.config_url, notice.episode, channel)
            body = health.health_body(
                notice,
                alert_id=ident,
                created=now,
                feed_name=feed.display_name,
                feed_url=feed.config_url,
            )
            if outbox.insert_alert(
                db,
                alert_id=ident,
                item_id=None,
                channel=channel,
                kind=HEALTH_KIND,
                created=now,
                payload=body,
            ):
                queued.append(ident)
    return queued
