"""Text reports for the command line: `watcher status` and the `once` summary lines."""

from __future__ import annotations

import sys
from typing import TextIO

import sqlite_utils

from watcher.config import Config
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
    print(
        f"{'feed':<40} {'state':<8} {'last poll':>10} {'next':>8} {'items':>6}  problem", file=out
    )
    for feed in feeds:
        if feed.status != feed_store.ACTIVE:
            state, paint = feed.status, RED
        elif feed.failures:
            state, paint = f"fail×{feed.failures}", RED
        elif feed.last_success is None:
            state, paint = "new", YELLOW
        else:
            state, paint = "ok", GREEN
        problem = ""
        if feed.last_error:
            problem = f"{feed.last_error} (since {ago(feed.failing_since, now)})"
        elif feed.last_warning:
            problem = f"warning: {truncate(feed.last_warning, 60)}"
        print(
            f"{truncate(feed.display_name, 40):<40} {_paint(f'{state:<8}', paint, color)}"
            f" {ago(feed.last_poll, now):>10} {until(feed.next_due, now):>8}"
            f" {feed.items_seen:>6}  {problem}",
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
