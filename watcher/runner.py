"""`watcher once`: one full cycle over every configured feed, then delivery."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator

from watcher.config import Config
from watcher.fetch import Fetcher, FetchSettings
from watcher.groupcommit import WINDOW as GROUP_WINDOW
from watcher.groupcommit import GroupCommit
from watcher.notify.delivery import Deliverer, DeliveryReport
from watcher.pipeline import Poller, PollOutcome
from watcher.report import outcome_line
from watcher.store import feeds as feed_store
from watcher.store import open_database
from watcher.workers import make_parse_pool

log = logging.getLogger(__name__)


def fetch_settings(config: Config) -> FetchSettings:
    settings = config.settings
    kwargs = {
        "max_concurrency": settings.max_concurrency,
        "per_host": settings.per_host_concurrency,
    }
    if settings.user_agent:
        kwargs["user_agent"] = settings.user_agent
    return FetchSettings(**kwargs)


class Progress:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} feeds")
            sys.stderr.flush()


def inflight_limit(config: Config, parse_workers: int) -> int:
    """How many polls may be under way at once (fetching, waiting to parse, parsing).

    The fetcher already caps concurrent requests; this caps what piles up behind it. A
    local or fast network fetches faster than the workers parse, and without a cap every
    feed's body would wait in memory for a worker: 2,000 feeds of 60 kB is 120 MB. Twice
    the fetch limit keeps every fetch slot and every parser busy.
    """
    return 2 * config.settings.max_concurrency + 2 * parse_workers


async def poll_all(
    poller: Poller,
    feeds: list[feed_store.FeedState],
    progress: Progress,
    *,
    limit: int | None = None,
) -> AsyncIterator[PollOutcome]:
    """Poll feeds concurrently, at most `limit` at once (None: all); yield as each ends."""
    slots = asyncio.Semaphore(limit or max(1, len(feeds)))

    async def bounded(feed: feed_store.FeedState) -> PollOutcome:
        async with slots:
            return await poller.poll(feed)

    tasks = [asyncio.ensure_future(bounded(feed)) for feed in feeds]
    try:
        for next_done in asyncio.as_completed(tasks):
            outcome: PollOutcome = await next_done
            progress.step()
            yield outcome
    finally:
        for task in tasks:
            task.cancel()


DELIVER_EVERY = 1.0  # seconds between delivery passes while `once` still polls


async def deliver_until(deliverer: Deliverer, stop: asyncio.Event) -> DeliveryReport:
    """Deliver what is due, pass after pass, until `stop` is set; what they did.

    Alerts go out while the rest of the feeds are still polled, as the daemon sends
    them, rather than all after the last feed: on a poll of thousands of feeds the
    main process then sends while the parse workers are busy, not after. A pass under
    way is finished, never cancelled, so no alert is sent without being recorded.
    """
    report = DeliveryReport()
    while not stop.is_set():
        report = report.then(await deliverer.deliver_due())
        try:
            await asyncio.wait_for(stop.wait(), DELIVER_EVERY)
        except TimeoutError:
            pass
    return report


def _prints_alerts(config: Config) -> bool:
    """A console channel prints alerts where `once` prints its feed lines: those wait
    until every feed is polled, so neither interrupts the other."""
    return any(ch.type == "console" for ch in config.settings.channels.values())


async def run_once(config: Config, *, progress: bool = False) -> int:
    started = time.monotonic()
    db = open_database(config.database_path)
    try:
        feed_store.sync_feeds(db, config.feeds, time.time())
        feeds = [f for f in feed_store.all_feeds(db) if f.status == feed_store.ACTIVE]
        bar = Progress(len(feeds), progress)
        outcomes: list[PollOutcome] = []
        color = sys.stdout.isatty()
        pool = make_parse_pool()
        deliverer = Deliverer(db, config)
        stop_delivering = asyncio.Event()
        meanwhile: asyncio.Task[DeliveryReport] | None = None
        if not _prints_alerts(config):
            meanwhile = asyncio.create_task(deliver_until(deliverer, stop_delivering))
        try:
            async with Fetcher(fetch_settings(config)) as fetcher:
                writes = GroupCommit(db, window=GROUP_WINDOW)
                poller = Poller(db, config, fetcher, executor=pool, writes=writes)
                limit = inflight_limit(config, pool.workers if pool else 1)
                async for outcome in poll_all(poller, feeds, bar, limit=limit):
                    outcomes.append(outcome)
                    bar.clear()
                    print(outcome_line(outcome, color), flush=True)
        finally:
            stop_delivering.set()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            early = await meanwhile if meanwhile is not None else DeliveryReport()
        bar.clear()
        failed = sum(1 for o in outcomes if not o.ok)
        print(
            f"{len(outcomes)} feeds polled in {time.monotonic() - started:.1f}s:"
            f" {len(outcomes) - failed} ok, {failed} failed;"
            f" {sum(o.ingest.new_items for o in outcomes)} new items,"
            f" {sum(o.ingest.republications for o in outcomes)} republications,"
            f" {sum(o.ingest.alerts for o in outcomes)} alerts queued"
        )
        try:
            delivered = early.then(await deliverer.deliver_due())
        finally:
            await deliverer.aclose()
        print(delivered.summary(), flush=True)
    finally:
        db.close()
    return 0
