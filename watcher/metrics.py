"""Prometheus metrics of one running daemon (served on /metrics by watcher.monitor).

Each `Service` owns a `ServiceMetrics` with its own `CollectorRegistry`, never the
process-wide default one: two services in one test process, or a service and a reload,
never collide on a metric name.

Two kinds of figure:

- events counted as they happen in this process (polls by outcome, items, alerts queued,
  delivery outcomes and latency): counters and a histogram, reset by a restart as
  Prometheus expects;
- state read from the database at scrape time (feeds by health, feeds failing, the last
  good poll of each feed, alerts by channel and status): gauges that survive restarts and
  agree with `watcher status`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import sqlite_utils
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from watcher.notify.delivery import DeliveryReport
    from watcher.pipeline import PollOutcome

log = logging.getLogger(__name__)

POLL_OUTCOMES = ("changed", "unchanged", "not-modified", "failed", "gone")
DELIVERY_RESULTS = ("sent", "failed", "dead", "deferred")
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServiceMetrics:
    """The counters the daemon moves, plus a collector reading state from the database."""

    def __init__(self, db: Callable[[], sqlite_utils.Database]):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("watcher_polls", "Feed polls, by outcome.", ["outcome"], registry=r)
        self.poll_seconds = Histogram(
            "watcher_poll_duration_seconds",
            "Time one poll took (fetch, parse, store), by outcome.",
            ["outcome"],
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "watcher_items",
            "Items recorded by polls: new, updated, republication (no alert), silent (backfill).",
            ["kind"],
            registry=r,
        )
        self.alerts_queued = Counter(
            "watcher_alerts_queued", "Topic alerts queued by polls (one per item and channel).",
            registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "watcher_deliveries",
            "Alert delivery outcomes, by channel: sent, failed (will retry), dead, deferred.",
            ["channel", "result"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "watcher_delivery_latency_seconds",
            "From an alert's creation to the channel accepting it.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        for outcome in POLL_OUTCOMES:  # every series exists from the start, at zero
            self.polls.labels(outcome)
        for kind in ("new", "updated", "republication", "silent"):
            self.items.labels(kind)
        r.register(StoreCollector(db))

    def observe_poll(self, outcome: PollOutcome) -> None:
        self.polls.labels(outcome.status).inc()
        self.poll_seconds.labels(outcome.status).observe(outcome.elapsed)
        ingest = outcome.ingest
        for kind, count in (
            ("new", ingest.new_items),
            ("updated", ingest.updated_items),
            ("republication", ingest.republications),
            ("silent", ingest.silent),
        ):
            if count:
                self.items.labels(kind).inc(count)
        if ingest.alerts:
            self.alerts_queued.inc(ingest.alerts)

    def observe_delivery(self, report: DeliveryReport) -> None:
        for channel, counts in report.channels.items():
            for result in DELIVERY_RESULTS:
                value = getattr(counts, result)
                if value:
                    self.deliveries.labels(channel, result).inc(value)
            for seconds in counts.latencies:
                self.delivery_latency.labels(channel).observe(max(0.0, seconds))

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Gauges read from the database at scrape time (the daemon's one connection)."""

    def __init__(self, db: Callable[[], sqlite_utils.Database]):
        self._db = db

    def describe(self) -> list[Metric]:
        return []  # names are only known from collect(); nothing to check up front

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect(self._db())
        except sqlite3.Error as exc:
            log.warning("metrics: cannot read the database: %s", exc)

    def _collect(self, db: sqlite_utils.Database) -> Iterator[Metric]:
        feeds = db.execute(
            "SELECT config_url, status, health_state, failures, last_success, poll_interval"
            " FROM feeds WHERE status != 'removed'"
        ).fetchall()
        by_health = GaugeMetricFamily(
            "watcher_feeds", "Configured feeds, by health state.", labels=["health"]
        )
        counts = {"ok": 0, "failing": 0, "stale": 0, "gone": 0}
        for _url, status, state, _failures, _last, _interval in feeds:
            key = "gone" if status == "gone" else state
            counts[key] = counts.get(key, 0) + 1
        for state, count in counts.items():
            by_health.add_metric([state], count)
        yield by_health
        yield GaugeMetricFamily(
            "watcher_feeds_failing",
            "Feeds whose last poll failed, or that are gone (HTTP 410).",
            value=sum(1 for f in feeds if f[3] or f[1] == "gone"),
        )
        last = GaugeMetricFamily(
            "watcher_feed_last_success_timestamp_seconds",
            "When each feed was last polled successfully (Unix time).",
            labels=["feed"],
        )
        failures = GaugeMetricFamily(
            "watcher_feed_consecutive_failures",
            "Failed polls in a row, per feed (0 when the last poll succeeded).",
            labels=["feed"],
        )
        interval = GaugeMetricFamily(
            "watcher_feed_poll_interval_seconds",
            "The interval each feed is polled at now (after ttl, max-age and `auto`).",
            labels=["feed"],
        )
        for url, _status, _state, failed, last_success, poll_interval in feeds:
            if last_success is not None:
                last.add_metric([url], last_success)
            failures.add_metric([url], failed)
            if poll_interval is not None:
                interval.add_metric([url], poll_interval)
        yield from (last, failures, interval)
        alerts = GaugeMetricFamily(
            "watcher_alerts",
            "Alerts in the outbox, by channel and status (pending, sent, dead).",
            labels=["channel", "status"],
        )
        for channel, status, count in db.execute(
            "SELECT channel, status, COUNT(*) FROM alerts GROUP BY channel, status"
        ):
            alerts.add_metric([channel, status], count)
        yield alerts
