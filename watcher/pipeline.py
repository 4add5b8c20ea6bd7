"""One poll of one feed: fetch → parse → store → dedup → match → outbox.

`Ingestor` is the database half (given a parsed feed, record what is new and queue its
alerts in one transaction); `Poller` adds the network half and the feed's polling state.
Each stage takes the previous stage's value and returns its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import sqlite_utils

from watcher import feedcare
from watcher.alerts import TopicHit, alert_id, build_alert
from watcher.config import Config, FeedSpec
from watcher.dedup import DedupResult, DedupSettings, DedupStore, PreparedItem, Verdict
from watcher.errors import FetchError, ParseError
from watcher.fetch import Fetcher, FetchLimits, FetchResult, Validators
from watcher.groupcommit import GroupCommit
from watcher.model import Item, ParsedFeed
from watcher.prematch import FeedLabel, PreMatch, TopicContext, alert_document
from watcher.query import TopicIndex
from watcher.store import items as item_store
from watcher.store import outbox
from watcher.store.db import transaction
from watcher.store.feeds import FeedState
from watcher.workers import ParsePool, PreparedFeed, parse_job

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What one parsed feed added to the database."""

    new_items: int = 0
    updated_items: int = 0
    republications: int = 0
    silent: int = 0  # recorded without alerting (backfill)
    alerts: int = 0
    alert_ids: list[str] = field(default_factory=list)


@dataclass
class PollOutcome:
    """How one poll went, for the summary line, logs and metrics."""

    feed_id: int
    url: str
    name: str
    status: str  # changed | unchanged | not-modified | failed | gone
    elapsed: float
    ingest: IngestResult = field(default_factory=IngestResult)
    error: str | None = None
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "gone")


def dedup_settings(config: Config) -> DedupSettings:
    d = config.settings.dedup
    return DedupSettings(
        min_words=d.min_words,
        republish_threshold=d.republish_threshold,
        near_duplicate_threshold=d.near_duplicate_threshold,
        retention_seconds=d.retention,
    )


class Ingestor:
    """Records a parsed feed: new and changed items, their fingerprints and alerts."""

    def __init__(self, db: sqlite_utils.Database, config: Config):
        self.db = db
        self.config = config
        self.dedup = DedupStore(db)
        self.dedup_settings = dedup_settings(config)
        self.topic_context = TopicContext.of(config.queries)
        self.index = TopicIndex(list(self.topic_context.topics))
        self.topics = {t.name: t for t in config.settings.topics}

    def _is_backfill_silent(self, feed: FeedState, item: Item, now: float) -> bool:
        """A new feed's first poll alerts only on recent items (DESIGN.md backfill)."""
        if not feed.never_polled_ok:
            return False
        if item.published is None:
            return True
        return item.published.timestamp() < now - self.config.settings.backfill

    def ingest(self, feed: FeedState, parsed: ParsedFeed, now: float) -> IngestResult:
        result = IngestResult()
        keys = [item.key for item in parsed.items]
        stored = item_store.find_items(self.db, feed.id, keys)
        unchanged: list[int] = []
        feed_name = feed.name or parsed.title or feed.config_url
        # dedup's preparation and topic matches of each item, when a parse worker made
        # them (None: make them here)
        ready = parsed.prepared if isinstance(parsed, PreparedFeed) else ()
        prematched = parsed.prematched if isinstance(parsed, PreparedFeed) else ()
        with transaction(self.db):
            for index, item in enumerate(parsed.items):
                previous = stored.get(item.key)
                if previous is not None and previous.content_hash == item.content_hash:
                    unchanged.append(previous.id)
                    continue
                item_id = self._ingest_item(
                    feed,
                    feed_name,
                    item,
                    previous,
                    now,
                    result,
                    prepared=ready[index] if index < len(ready) else None,
                    prematched=prematched[index] if index < len(prematched) else None,
                )
                # a feed listing one identity twice: the second copy is an edit of the first
                stored[item.key] = item_store.StoredItem(item_id, feed.id, item.content_hash, now)
            item_store.touch_items(self.db, unchanged, now)
        return result

    def _ingest_item(
        self,
        feed: FeedState,
        feed_name: str,
        item: Item,
        previous: item_store.StoredItem | None,
        now: float,
        result: IngestResult,
        prepared: PreparedItem | None = None,
        prematched: PreMatch | None = None,
    ) -> int:
        """Record one new or changed item; return its row id."""
        assessment = self.dedup.assess(
            item,
            item_id=previous.id if previous else None,
            is_update=previous is not None,
            now=now,
            settings=self.dedup_settings,
            prepared=prepared,
        )
        if previous is None:
            item_id = item_store.insert_item(self.db, feed.id, item, now)
            result.new_items += 1
        else:
            item_id = previous.id
            item_store.update_item(self.db, item_id, item, now)
            result.updated_items += 1
        self.dedup.record(assessment, item_id=item_id, now=now)

        if assessment.verdict is Verdict.REPUBLICATION:
            result.republications += 1
            if assessment.original_item_id is not None:
                outbox.add_republication(
                    self.db, original_id=assessment.original_item_id, item_id=item_id, now=now
                )
            return item_id
        if assessment.verdict is Verdict.NOTHING_NEW:
            return item_id
        if self._is_backfill_silent(feed, item, now):
            result.silent += 1
            return item_id
        self._queue_alerts(feed, feed_name, item, item_id, assessment, now, result, prematched)
        return item_id

    def _queue_alerts(
        self,
        feed: FeedState,
        feed_name: str,
        item: Item,
        item_id: int,
        assessment: DedupResult,
        now: float,
        result: IngestResult,
        prematched: PreMatch | None = None,
    ) -> None:
        """Match the item's new content (unless a parse worker matched that very content
        already); queue one alert per channel of the matched topics."""
        if prematched is not None and prematched.applies(
            self.topic_context.key, feed_name, feed.url, assessment
        ):
            matches = list(prematched.matches)
        else:
            document = alert_document(
                item,
                title_is_new=assessment.title_is_new,
                new_paragraphs=assessment.new_paragraphs,
                feed_name=feed_name,
                feed_url=feed.url,
            )
            matches = self.index.match(document)
        if not matches:
            return
        by_channel: dict[str, list[TopicHit]] = defaultdict(list)
        for topic_name, match in matches:
            topic = self.topics[topic_name]
            hit = TopicHit(topic.name, topic.display_name, match.terms, match.plain_snippet)
            for channel in topic.channels:
                by_channel[channel].append(hit)
        kind = "update" if assessment.verdict is Verdict.UPDATE else "new"
        for channel, hits in by_channel.items():
            ident = alert_id(feed.config_url, item.key, item.content_hash, channel)
            thread = outbox.first_alert_id(self.db, item_id, channel) if kind == "update" else None
            payload = build_alert(
                alert=ident,
                kind=kind,
                created=now,
                item=item,
                new_paragraphs=assessment.new_paragraphs,
                feed_name=feed_name,
                feed_url=feed.url,
                topics=hits,
                thread=thread,
            )
            if outbox.insert_alert(
                self.db,
                alert_id=ident,
                item_id=item_id,
                channel=channel,
                kind=kind,
                created=now,
                payload=payload,
            ):
                result.alerts += 1
                result.alert_ids.append(ident)


def limits_for(spec: FeedSpec | None, config: Config) -> FetchLimits:
    defaults = config.settings.defaults
    timeout = spec.timeout if spec else defaults.timeout
    return FetchLimits(
        connect_timeout=min(10.0, timeout),
        read_timeout=timeout,
        deadline=timeout * 2,
        max_bytes=spec.max_bytes if spec else defaults.max_bytes,
    )


class Poller:
    """Polls feeds and keeps their state: validators, backoff, moves and retirement."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        config: Config,
        fetcher: Fetcher,
        *,
        executor: Executor | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        writes: GroupCommit | None = None,
    ):
        """`writes` groups the database writes of polls that end close together into one
        commit (watcher.groupcommit); without it every poll commits its own at once."""
        self.db = db
        self.writes = writes or GroupCommit(db)
        self.config = config
        self.fetcher = fetcher
        self.executor = executor
        self.rng = rng or random.Random()
        self.clock = clock
        self.ingestor = Ingestor(db, config)
        self.specs = {spec.url: spec for spec in config.feeds}
        if isinstance(executor, ParsePool):
            executor.use_topics(self.ingestor.topic_context)

    async def _parse(
        self, body: bytes, url: str, content_type: str | None, feed: FeedState | None = None
    ) -> ParsedFeed:
        """Parse off the event loop, so one big feed does not delay every other fetch.

        With a process pool (watcher.workers), the worker also prepares the feed's new
        and changed items for dedup (those whose content hash `feed` has not stored),
        which leaves the main process only the database work.

        A worker that dies takes every document it held with it: each is tried once
        more on the replacement pool, and only a document that kills a worker twice
        fails, as a ParseError of its own feed.
        """
        loop = asyncio.get_running_loop()
        job: tuple = (_parse_job, body, url, content_type)
        if isinstance(self.executor, ProcessPoolExecutor | ParsePool):
            known = item_store.content_hashes(self.db, feed.id) if feed else frozenset()
            job = (*job, self.ingestor.dedup_settings, known, self._label(feed))
        try:
            return await loop.run_in_executor(self.executor, *job)
        except BrokenProcessPool:
            log.warning("parser process died while parsing %s; trying once more", url)
        try:
            return await loop.run_in_executor(self.executor, *job)
        except BrokenProcessPool as exc:
            raise ParseError("the parser process died on this document (twice)") from exc

    def _label(self, feed: FeedState | None) -> FeedLabel | None:
        """What a parse worker needs to match this feed's items (watcher.prematch)."""
        if feed is None or not isinstance(self.executor, ParsePool):
            return None
        topics_key = self.executor.topics_key
        if topics_key != self.ingestor.topic_context.key:
            return None
        silent_before = None
        if feed.never_polled_ok:
            silent_before = self.clock() - self.config.settings.backfill
        return FeedLabel(topics_key, feed.name, feed.config_url, feed.url, silent_before)

    async def poll(self, feed: FeedState) -> PollOutcome:
        spec = self.specs.get(feed.config_url) or feedcare.default_spec(
            self.config, feed.config_url
        )
        started = time.monotonic()
        name = feed.display_name
        try:
            fetched = await self.fetcher.fetch(
                feed.url,
                validators=Validators(etag=feed.etag, last_modified=feed.last_modified),
                limits=limits_for(spec, self.config),
            )
            if fetched.status == 304 or (
                fetched.body_hash is not None and fetched.body_hash == feed.body_hash
            ):
                await self.writes.run(lambda: self._succeeded(feed, self.clock(), spec, fetched))
                status = "not-modified" if fetched.status == 304 else "unchanged"
                return PollOutcome(feed.id, feed.url, name, status, time.monotonic() - started)
            assert fetched.body is not None
            parsed = await self._parse(fetched.body, fetched.final_url, fetched.content_type, feed)
        except (FetchError, ParseError) as exc:
            problem = exc
            return await self.writes.run(lambda: self._failed(feed, problem, spec, started))

        def record() -> IngestResult:
            """The feed's new items and its poll state, in one transaction."""
            now = self.clock()
            ingest = self.ingestor.ingest(feed, parsed, now)
            self._succeeded(feed, now, spec, fetched, parsed=parsed, new=ingest.new_items)
            return ingest

        ingest = await self.writes.run(record)
        status = "changed" if ingest.new_items or ingest.updated_items else "unchanged"
        return PollOutcome(
            feed.id,
            feed.url,
            feed.name or parsed.title or name,
            status,
            time.monotonic() - started,
            ingest=ingest,
            warning=parsed.warning,
        )

    def _succeeded(
        self,
        feed: FeedState,
        now: float,
        spec: FeedSpec,
        fetched: FetchResult,
        *,
        parsed: ParsedFeed | None = None,
        new: int = 0,
    ) -> None:
        """Record a good poll; watcher.feedcare picks the next poll and keeps health."""
        if fetched.permanent_redirect and fetched.permanent_redirect != feed.url:
            log.warning(
                "feed %s moved permanently to %s; now polling the new address"
                " (update the config to silence this)",
                feed.url,
                fetched.permanent_redirect,
            )
        if feed.failures:
            log.info("feed %s recovered after %d failed polls", feed.url, feed.failures)
        feedcare.record_success(
            self.db,
            self.config,
            feed,
            spec,
            fetched,
            now=now,
            rng=self.rng,
            parsed=parsed,
            new_items=new,
        )

    def _failed(
        self, feed: FeedState, exc: FetchError | ParseError, spec: FeedSpec, started: float
    ) -> PollOutcome:
        """Record a failed poll; watcher.feedcare backs off and raises health alerts."""
        now = self.clock()
        failures = feed.failures + 1
        problem, delay = feedcare.record_failure(
            self.db, self.config, feed, spec, exc, now=now, rng=self.rng
        )
        reason = problem.reason
        gone = delay is None
        if gone:
            log.error(
                "feed %s is gone (HTTP 410): it will not be polled again; remove it from the"
                " config or replace its URL",
                feed.url,
            )
        elif feed.failures == 0:
            log.warning("feed %s failed: %s (retrying in %.0fs)", feed.url, reason, delay or 0)
        else:
            log.debug("feed %s failed again (%d in a row): %s", feed.url, failures, reason)
        return PollOutcome(
            feed.id,
            feed.url,
            feed.display_name,
            "gone" if gone else "failed",
            time.monotonic() - started,
            error=reason,
        )


# Module-level so a process pool can pickle it; defined in watcher.workers so a worker
# process imports the parser only, not this module's database and query code.
_parse_job = parse_job
