"""`watcher run`: the daemon. Polls on schedule, delivers, reloads on SIGHUP, stops cleanly.

APScheduler's asyncio scheduler runs everything on one event loop: one date-triggered job
per feed, re-armed after each poll for the time the feed's state says (its interval with
jitter, or its backoff), plus jobs for delivery, maintenance and the systemd watchdog.
Parsing runs in an executor so a large feed does not stall other feeds' fetches.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from watcher import feedcare
from watcher.config import Config, load_config
from watcher.errors import ConfigError
from watcher.fetch import Fetcher
from watcher.groupcommit import WINDOW as GROUP_WINDOW
from watcher.groupcommit import GroupCommit
from watcher.metrics import ServiceMetrics
from watcher.monitor import Health, MonitorServer, judge_liveness, probe_database
from watcher.notify.delivery import Deliverer
from watcher.pipeline import Poller
from watcher.runner import fetch_settings
from watcher.sdnotify import Notifier
from watcher.store import feeds as feed_store
from watcher.store import open_database
from watcher.store.maintenance import optimize, prune
from watcher.workers import make_parse_pool

log = logging.getLogger(__name__)

STOP_GRACE = 3.0  # seconds in-flight polls may take to finish after SIGTERM
DELIVERY_EVERY = 5.0
MAINTENANCE_EVERY = 3600.0
HEARTBEAT_EVERY = 5.0  # the scheduler proves it is alive this often (/healthz)


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class Service:
    """One running daemon: its config, database, scheduler and in-flight work."""

    def __init__(self, config: Config, *, notifier: Notifier | None = None):
        self.config = config
        self.notifier = notifier or Notifier()
        self.db = open_database(config.database_path)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.fetcher = Fetcher(fetch_settings(config))
        # parse workers, one per core (started on the first document), kept across reloads
        self.parse_pool = make_parse_pool()
        self.writes = GroupCommit(self.db, window=GROUP_WINDOW)
        self.poller = Poller(
            self.db, config, self.fetcher, executor=self.parse_pool, writes=self.writes
        )
        self.deliverer = Deliverer(self.db, config)
        self.inflight: set[asyncio.Task] = set()
        self.stopping = False
        self.stop_event = asyncio.Event()
        self.polls = 0
        self.last_cycle: float | None = None
        self.metrics = ServiceMetrics(lambda: self.db)  # its own registry, per Service
        self.monitor: MonitorServer | None = None
        self.last_tick: float | None = None  # monotonic time of the last heartbeat job

    # -- scheduling ---------------------------------------------------------------------

    def _job_id(self, feed_id: int) -> str:
        return f"feed-{feed_id}"

    def schedule_feed(self, feed_id: int, at: float | None = None) -> None:
        """Arm the feed's job for its stored next_due (never in the past)."""
        feed = feed_store.feed_by_id(self.db, feed_id)
        job_id = self._job_id(feed_id)
        if feed.status != feed_store.ACTIVE:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            return
        now = time.time()
        when = max(at if at is not None else (feed.next_due or now), now)
        self.scheduler.add_job(
            self._poll_job,
            "date",
            run_date=_when(when),
            args=[feed_id],
            id=job_id,
            name=f"poll {feed.config_url}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    def schedule_all(self) -> None:
        """Arm every active feed; overdue ones are spread over a minute, not fired at once."""
        now = time.time()
        active = [f for f in feed_store.all_feeds(self.db) if f.status == feed_store.ACTIVE]
        overdue = [f for f in active if (f.next_due or 0) <= now]
        spread = min(60.0, 2.0 * len(overdue) / max(1, self.config.settings.max_concurrency))
        for position, feed in enumerate(overdue):
            self.schedule_feed(feed.id, now + spread * position / max(1, len(overdue)))
        for feed in active:
            if (feed.next_due or 0) > now:
                self.schedule_feed(feed.id)
        wanted = {self._job_id(f.id) for f in active}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("feed-") and job.id not in wanted:
                job.remove()

    async def _poll_job(self, feed_id: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.inflight.add(task)
        try:
            feed = feed_store.feed_by_id(self.db, feed_id)
            if feed.status != feed_store.ACTIVE or self.stopping:
                return
            outcome = await self.poller.poll(feed)
            self.metrics.observe_poll(outcome)
            self.polls += 1
            self.last_cycle = time.time()
            if outcome.ingest.alerts:
                self.deliver_soon()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug must cost one poll of one feed, never the daemon.
            log.exception("poll of feed %d failed unexpectedly; retrying next interval", feed_id)
        finally:
            self.inflight.discard(task)
            if not self.stopping:
                self._rearm_after_poll(feed_id)

    def _rearm_after_poll(self, feed_id: int) -> None:
        try:
            feed = feed_store.feed_by_id(self.db, feed_id)
        except KeyError:
            return
        spec = self.poller.specs.get(feed.config_url) or feedcare.default_spec(
            self.config, feed.config_url
        )
        interval = spec.interval
        now = time.time()
        # A poll that crashed left next_due in the past: wait a full interval instead.
        at = feed.next_due if feed.next_due and feed.next_due > now else now + interval
        self.schedule_feed(feed_id, at)

    def deliver_soon(self) -> None:
        job = self.scheduler.get_job("deliver")
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    async def _deliver_job(self) -> None:
        try:
            report = await self.deliverer.deliver_due()
            self.metrics.observe_delivery(report)
        except Exception:
            log.exception("delivery round failed unexpectedly; retrying in %.0fs", DELIVERY_EVERY)
        self._report_status()

    async def _maintenance_job(self) -> None:
        try:
            prune(self.db, time.time(), self.config.settings.dedup.retention)
            optimize(self.db)
        except Exception:
            log.exception("maintenance failed; will try again in an hour")

    async def _heartbeat_job(self) -> None:
        """Runs through the scheduler: a fresh tick means it still fires jobs (/healthz)."""
        self.last_tick = time.monotonic()

    def health(self) -> Health:
        """`/healthz`: the scheduler fires jobs and the database takes a write."""
        alive = judge_liveness(
            running=self.scheduler.running and not self.stopping,
            last_tick=self.last_tick,
            now=time.monotonic(),
            period=HEARTBEAT_EVERY,
        )
        writable = probe_database(self.db, time.time())
        checks = {"scheduler": alive or "alive", "database": writable or "writable"}
        return Health(alive is None and writable is None, checks)

    async def start_monitor(self) -> None:
        """Listen for /healthz and /metrics when `metrics: {listen: …}` is configured."""
        settings = self.config.settings.metrics
        if settings is None:
            return
        host, port = settings.address
        monitor = MonitorServer(host, port, health=self.health, metrics=self.metrics.exposition)
        await monitor.start()
        self.monitor = monitor

    async def _watchdog_job(self) -> None:
        """Runs on the event loop itself: a stalled loop stops the pings, and systemd acts."""
        self.notifier.watchdog()

    def _report_status(self) -> None:
        if not self.notifier.enabled:
            return
        feeds = feed_store.all_feeds(self.db)
        failing = sum(1 for f in feeds if f.failures)
        pending = self.db.execute("SELECT COUNT(*) FROM alerts WHERE status = 'pending'").fetchone()
        last = (
            datetime.fromtimestamp(self.last_cycle, UTC).strftime("%H:%M:%S")
            if self.last_cycle
            else "-"
        )
        self.notifier.status(
            f"{len(feeds)} feeds ({failing} failing), {self.polls} polls, last poll {last} UTC,"
            f" {pending[0]} alerts pending"
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def reload(self, path: Path) -> bool:
        """Apply a new config without a restart; keep the old one if the new one is bad."""
        self.notifier.reloading(time.monotonic_ns() // 1000)
        try:
            new = load_config(path)
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("reload rejected: %s", issue)
            log.error("still running the previous configuration")
            self.notifier.ready()
            return False
        if new.database_path != self.config.database_path:
            log.warning("a change of `database:` takes effect only after a restart")
        if new.settings.metrics != self.config.settings.metrics:
            log.warning("a change of `metrics:` takes effect only after a restart")
        self.config = new
        feed_store.sync_feeds(self.db, new.feeds, time.time())
        old_fetcher, old_deliverer = self.fetcher, self.deliverer
        self.fetcher = Fetcher(fetch_settings(new))
        self.poller = Poller(
            self.db, new, self.fetcher, executor=self.parse_pool, writes=self.writes
        )
        self.deliverer = Deliverer(self.db, new)
        self.schedule_all()
        # in-flight polls still hold the old fetcher; close it once they are done
        asyncio.get_running_loop().create_task(self._close_later(old_fetcher, old_deliverer))
        log.info(
            "configuration reloaded: %d feeds, %d topics, %d channels",
            len(new.feeds),
            len(new.settings.topics),
            len(new.settings.channels),
        )
        self.notifier.ready()
        self._report_status()
        return True

    async def _close_later(self, fetcher: Fetcher, deliverer: Deliverer) -> None:
        while self.inflight:
            await asyncio.sleep(0.5)
        await fetcher.aclose()
        await deliverer.aclose()

    async def run(self, config_path: Path) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)
        reloads: set[asyncio.Task] = set()

        def on_hup() -> None:
            task = loop.create_task(self.reload(config_path))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        feed_store.sync_feeds(self.db, self.config.feeds, time.time())
        try:
            await self.start_monitor()
        except OSError as exc:
            listen = self.config.settings.metrics
            log.error("cannot listen on %s for metrics: %s", listen and listen.listen, exc)
            await self.fetcher.aclose()
            await self.deliverer.aclose()
            self.db.close()
            return 1
        self.scheduler.start()
        self.schedule_all()
        self.scheduler.add_job(
            self._deliver_job, "interval", seconds=DELIVERY_EVERY, id="deliver",
            next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
        )  # fmt: skip
        self.scheduler.add_job(
            self._maintenance_job, "interval", seconds=MAINTENANCE_EVERY, id="maintenance",
            coalesce=True, max_instances=1,
        )  # fmt: skip
        self.scheduler.add_job(
            self._heartbeat_job, "interval", seconds=HEARTBEAT_EVERY, id="heartbeat",
            next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
        )  # fmt: skip
        if self.notifier.watchdog_interval:
            self.scheduler.add_job(
                self._watchdog_job, "interval", seconds=self.notifier.watchdog_interval,
                id="watchdog", next_run_time=datetime.now(UTC),
            )  # fmt: skip
        log.info(
            "watcher started: %d feeds, %d topics, database %s",
            len(self.config.feeds),
            len(self.config.settings.topics),
            self.config.database_path,
        )
        self.notifier.ready(f"polling {len(self.config.feeds)} feeds")
        await self.stop_event.wait()
        return await self.shutdown()

    async def shutdown(self) -> int:
        log.info(
            "stopping: no new polls; waiting up to %.0fs for %d in flight",
            STOP_GRACE,
            len(self.inflight),
        )
        self.stopping = True
        self.notifier.stopping()
        self.scheduler.shutdown(wait=False)
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.monitor is not None:
            await self.monitor.close()
        if self.parse_pool is not None:
            # off the loop; a worker still deep in a large document is killed
            stop = asyncio.to_thread(self.parse_pool.shutdown, wait=True, cancel_futures=True)
            try:
                await asyncio.wait_for(stop, timeout=STOP_GRACE)
            except TimeoutError:
                log.warning("a parser process is still busy after %.0fs; killing it", STOP_GRACE)
                self.parse_pool.terminate()
        await self.fetcher.aclose()
        await self.deliverer.aclose()
        self.writes.flush()  # polls that ended in the last moments (cancelled ones do not count)
        self.db.close()
        self.notifier.close()
        log.info("stopped")
        return 0


async def serve(config_path: Path, config: Config) -> int:
    return await Service(config).run(config_path)
