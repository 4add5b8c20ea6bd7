"""Text reports for the command line: `watcher status` and the `once` summary lines."""

from __future__ import annotations

import sys
from typing import TextIO

import sqlite_utils

from watcher.config import Config, FeedSpec
from watcher.health import span
from watcher.humanize import ago, truncate, until
from watcher.pipeline import PollOutcome
from watcher.store import feeds as feed_store
from watcher.store import outbox

RED, YELLOW, GREEN, DIM, RESET = "\033[31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"


def _paint(text: str, color: str, enabled: bool) -> str:
    return f"{color}{text}{RESET}" if enabled else text


def outcome_line(outcome: PollOutcome, color: bool = False) -> str:
    """One line per polled feed: status, new items, alerts, time, name, and the error."""
    marks = {
        "changed": ("ok", GREEN),
        "unchanged": ("same", DIM),
        "not-modified": ("304", DIM),
        "failed": ("FAIL", RED),
        "gone": ("GONE", RED),
    }
    label, paint = marks.get(outcome.status, (outcome.status, ""))
    ingest = outcome.ingest
    counts = f"{ingest.new_items:4d} new {ingest.updated_items:3d} upd {ingest.alerts:3d} alerts"
    line = (
        f"{_paint(f'{label:<4}', paint, color)} {counts} {outcome.elapsed:6.2f}s  "
        f"{truncate(outcome.name, 40)}"
    )
    if outcome.error:
        line += f"  {_paint(outcome.error, RED, color)}"
    elif outcome.warning:
        line += f"  {_paint('warning: ' + truncate(outcome.warning, 80), YELLOW, color)}"
    return line


def feed_state(feed: feed_store.FeedState) -> tuple[str, str]:
    """The state column and its colour: failing and gone feeds are red, silent ones yellow."""
    if feed.status != feed_store.ACTIVE:
        return feed.status, RED
    if feed.failures:
        return f"fail×{feed.failures}", RED
    if feed.health_state == "stale":
        return "stale", YELLOW
    if feed.last_success is None:
        return "new", YELLOW
    return "ok", GREEN


def feed_problem(feed: feed_store.FeedState, now: float) -> tuple[str, str]:
    """What is wrong with a feed and since when ('' when nothing), and its colour."""
    if feed.last_error:
        return f"{feed.last_error} (since {ago(feed.failing_since, now)})", RED
    if feed.health_state == "stale" and feed.health_reason:
        return f"silent: {feed.health_reason} (since {ago(feed.health_since, now)})", YELLOW
    if feed.url != feed.config_url:
        return f"moved permanently to {feed.url}: update the config", YELLOW
    if feed.last_warning:
        return f"warning: {truncate(feed.last_warning, 60)}", ""
    return "", ""


def poll_every(feed: feed_store.FeedState, spec: FeedSpec | None) -> str:
    """The interval the feed is polled at and why: `10m`, `5m auto`, `1h ttl`."""
    if feed.poll_interval is None:
        if spec is None:
            return "-"
        return "auto" if spec.auto else span(spec.interval).replace(" ", "")
    every = span(feed.poll_interval).replace(" ", "")
    basis = {"fixed": "", "max_interval": "max"}.get(feed.poll_basis or "", feed.poll_basis)
    return f"{every} {basis}".strip()


def print_status(
    db: sqlite_utils.Database,
    config: Config,
    *,
    now: float,
    color: bool = False,
    out: TextIO | None = None,
) -> None:
    out = out or sys.stdout
    feeds = feed_store.all_feeds(db)
    specs = {spec.url: spec for spec in config.feeds}
    print(
        f"{'feed':<40} {'state':<8} {'last poll':>10} {'next':>8} {'every':<11} {'items':>6}"
        "  problem",
        file=out,
    )
    for feed in feeds:
        state, paint = feed_state(feed)
        problem, problem_paint = feed_problem(feed, now)
        print(
            f"{truncate(feed.display_name, 40):<40} {_paint(f'{state:<8}', paint, color)}"
            f" {ago(feed.last_poll, now):>10} {until(feed.next_due, now):>8}"
            f" {poll_every(feed, specs.get(feed.config_url)):<11} {feed.items_seen:>6}"
            f"  {_paint(problem, problem_paint, color) if problem_paint else problem}",
            file=out,
        )
    counts = outbox.count_by_status(db)
    failing = sum(1 for f in feeds if f.failures or f.status != feed_store.ACTIVE)
    print(
        f"\n{len(feeds)} feeds ({failing} failing); alerts: {counts.get('pending', 0)} pending,"
        f" {counts.get('sent', 0)} sent, {counts.get('dead', 0)} dead",
        file=out,
    )
    if len(feeds) == 0 and config.feeds:
        print("no feed has been polled yet: run `watcher once` or `watcher run`", file=out)
