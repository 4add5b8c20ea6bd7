"""The delivery worker: sends what the outbox holds, records each outcome immediately.

Rules (DESIGN.md "Alerts (contract)"):

- Per channel, alerts go out in creation order; a channel waits behind its oldest pending
  alert while that one backs off, so alerts never overtake each other.
- Success is recorded right after the channel accepts; a failure counts an attempt and
  schedules the next with exponential backoff and jitter (later if the server sent
  Retry-After); a permanent refusal, or `delivery.max_attempts` failures, makes it `dead`.
- A crash between "accepted" and "recorded" sends that alert again after a restart, with
  the same id (at-least-once); an alert recorded as sent is never sent again.
- `digest:` channels send one message per period (periods align to the epoch, UTC) with
  every alert whose period has ended; `max_per_hour` caps alerts sent in the trailing
  hour, and the overflow waits (next digest, or a free slot) instead of being dropped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
import sqlite_utils

from watcher.config.models import ConsoleChannel as ConsoleSettings
from watcher.config.models import EmailChannel as EmailSettings
from watcher.config.models import Settings
from watcher.config.models import WebhookChannel as WebhookSettings
from watcher.errors import DeliveryError, PermanentDeliveryError
from watcher.humanize import until
from watcher.notify import schedule
from watcher.notify.base import Channel, Message
from watcher.store import outbox
from watcher.store.outbox import OutboxAlert

log = logging.getLogger(__name__)

BATCH = 100  # alerts read per query
HEALTH = "health"  # feed health alerts: sent singly even on digest channels
DIGEST_MAX_ALERTS = 100  # alerts per digest message; more go in further messages


@dataclass
class ChannelReport:
    """What one pass did on one channel (counts are alerts, not messages)."""

    sent: int = 0
    messages: int = 0
    failed: int = 0  # failed this pass, will be retried
    dead: int = 0
    deferred: int = 0  # held back by max_per_hour
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # created -> accepted, per alert


@dataclass
class DeliveryReport:
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    pending: int = 0  # still pending after the pass (backing off, digest not due, capped)

    def channel(self, name: str) -> ChannelReport:
        return self.channels.setdefault(name, ChannelReport())

    def _total(self, attribute: str) -> int:
        return sum(getattr(c, attribute) for c in self.channels.values())

    @property
    def sent(self) -> int:
        return self._total("sent")

    delivered = sent  # the word `watcher once` prints

    @property
    def messages(self) -> int:
        return self._total("messages")

    @property
    def failed(self) -> int:
        return self._total("failed")

    @property
    def dead(self) -> int:
        return self._total("dead")

    @property
    def deferred(self) -> int:
        return self._total("deferred")

    def then(self, later: DeliveryReport) -> DeliveryReport:
        """This pass followed by a `later` one, as one report: alerts sent, failed or
        dead in either; held back and pending as the later pass left them."""
        merged = DeliveryReport(pending=later.pending)
        for name in {**self.channels, **later.channels}:
            first, second = self.channels.get(name), later.channels.get(name)
            if first is None or second is None:
                merged.channels[name] = first or second  # type: ignore[assignment]
                continue
            merged.channels[name] = ChannelReport(
                sent=first.sent + second.sent,
                messages=first.messages + second.messages,
                failed=first.failed + second.failed,
                dead=first.dead + second.dead,
                deferred=second.deferred,
                errors=first.errors + second.errors,
                latencies=first.latencies + second.latencies,
            )
        return merged

    def summary(self) -> str:
        """One line for `watcher once`: what was delivered, what failed, what waits."""
        parts = [f"{self.sent} alert{'s' * (self.sent != 1)} delivered"]
        if self.messages != self.sent:
            parts[0] += f" in {self.messages} message{'s' * (self.messages != 1)}"
        if self.failed:
            parts.append(f"{self.failed} failed (will retry)")
        if self.dead:
            parts.append(f"{self.dead} dead (see `watcher alerts --status dead`)")
        if self.deferred:
            parts.append(f"{self.deferred} held by max_per_hour")
        parts.append(f"{self.pending} pending")
        return "delivery: " + ", ".join(parts)


def build_channel(
    name: str,
    settings: Any,
    *,
    http_client: Callable[[], httpx.AsyncClient],
    clock: Callable[[], float] = time.time,
    console_stream: TextIO | None = None,
) -> Channel:
    """The Channel for one `channels:` entry."""
    if isinstance(settings, EmailSettings):
        from watcher.notify.email import EmailChannel

        return EmailChannel(name, settings, clock=clock)
    if isinstance(settings, WebhookSettings):
        from watcher.notify.webhook import WebhookChannel

        return WebhookChannel(name, settings, http_client(), clock=clock)
    if isinstance(settings, ConsoleSettings):
        from watcher.notify.console import ConsoleChannel

        return ConsoleChannel(name, settings, console_stream)
    if getattr(settings, "type", None) == "apprise":
        from watcher.notify.apprise import AppriseChannel

        return AppriseChannel(name, settings)
    raise TypeError(f"no channel implementation for {type(settings).__name__}")


class Deliverer:
    """Sends due alerts from the outbox on every configured channel.

    `clock` gives the time when `deliver_due()` is called without `now`; `rng` draws the
    backoff jitter; `http_transport` goes to the one httpx client (tests use it).
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        config: Any,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        console_stream: TextIO | None = None,
        channels: Mapping[str, Channel] | None = None,
    ):
        self.db = db
        self.settings: Settings = getattr(config, "settings", config)
        self.clock = clock
        self.rng = rng or random.Random()
        delivery = self.settings.delivery
        self.policy = schedule.RetryPolicy(
            delivery.max_attempts, delivery.backoff, delivery.max_backoff
        )
        self._transport = http_transport
        self._client: httpx.AsyncClient | None = None
        self._console_stream = console_stream
        self._channels: dict[str, Channel] = dict(channels or {})
        self._pass_lock = asyncio.Lock()  # one pass at a time: overlapping passes double-send

    # --- channels -------------------------------------------------------------------------

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            from watcher.notify.webhook import make_http_client

            self._client = make_http_client(transport=self._transport)
        return self._client

    def channel(self, name: str) -> Channel:
        if name not in self._channels:
            self._channels[name] = build_channel(
                name,
                self.settings.channels[name],
                http_client=self._http_client,
                clock=self.clock,
                console_stream=self._console_stream,
            )
        return self._channels[name]

    async def aclose(self) -> None:
        for channel in self._channels.values():
            await channel.aclose()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- one pass -------------------------------------------------------------------------

    async def deliver_due(self, now: float | None = None) -> DeliveryReport:
        """Send everything due now on every channel; each outcome is recorded at once."""
        async with self._pass_lock:
            return await self._pass(now)

    async def _pass(self, now: float | None) -> DeliveryReport:
        stamp: Callable[[], float] = self.clock if now is None else (lambda: now)
        start = stamp()
        report = DeliveryReport()
        names = outbox.pending_channels(self.db)
        for name in names:
            if name not in self.settings.channels:
                self._orphaned(name, report)
        configured = [n for n in names if n in self.settings.channels]
        await asyncio.gather(*(self._deliver_channel(n, start, stamp, report) for n in configured))
        report.pending = outbox.count_by_status(self.db).get(outbox.PENDING, 0)
        return report

    def next_due(self, now: float | None = None) -> float | None:
        """When the next pass has something to do (None: nothing pending), for the daemon."""
        now = self.clock() if now is None else now
        times = []
        for name in outbox.pending_channels(self.db):
            settings = self.settings.channels.get(name)
            head = outbox.pending_alerts(self.db, name, limit=1)
            if settings is None or not head:
                times.append(now)
                continue
            due = head[0].next_attempt
            if settings.digest:
                due = max(due, schedule.digest_window_end(head[0].created, settings.digest))
            times.append(due)
        return min(times) if times else None

    def _orphaned(self, name: str, report: DeliveryReport) -> None:
        """Alerts for a channel no longer in the config: dead, with the reason, retryable."""
        ids = [a.id for a in outbox.pending_alerts(self.db, name, limit=1_000_000)]
        error = (
            f"channel {name!r} is not in the config (fix it, then `watcher alerts --retry-dead`)"
        )
        outbox.mark_dead(self.db, ids, error=error, attempted=False)
        report.channel(name).dead += len(ids)
        log.error("%d alert(s) for channel %s are dead: %s", len(ids), name, error)

    async def _deliver_channel(
        self, name: str, now: float, stamp: Callable[[], float], report: DeliveryReport
    ) -> None:
        settings = self.settings.channels[name]
        try:
            if settings.digest:
                channel_report = report.channel(name)
                await self._deliver_each(name, settings, now, stamp, channel_report, kind=HEALTH)
                await self._deliver_digests(name, settings, now, stamp, channel_report)
            else:
                await self._deliver_each(name, settings, now, stamp, report.channel(name))
        except Exception:  # a bug must not stop the other channels; the alerts stay pending
            log.exception("channel %s: delivery pass failed", name)

    def _allowance(self, name: str, settings: Any, now: float) -> schedule.Allowance:
        if settings.max_per_hour is None:
            return schedule.UNLIMITED
        sent = outbox.sent_times_since(self.db, name, now - schedule.HOUR)
        return schedule.hourly_allowance(sent, now, settings.max_per_hour)

    async def _deliver_each(
        self,
        name: str,
        settings: Any,
        now: float,
        stamp: Callable[[], float],
        report: ChannelReport,
        kind: str | None = None,
    ) -> None:
        channel = self.channel(name)
        attempted: set[str] = set()
        while True:
            batch = outbox.pending_alerts(self.db, name, limit=BATCH, kind=kind)
            fresh = [a for a in batch if a.id not in attempted]
            if not fresh:
                return
            for position, row in enumerate(fresh):
                if row.next_attempt > now:
                    return  # the channel waits behind its oldest alert
                allowance = self._allowance(name, settings, now)
                if allowance.count <= 0:
                    held = [a for a in fresh[position:] if a.next_attempt <= now]
                    self._defer(name, held, allowance.frees_at or now + schedule.HOUR, now, report)
                    return
                attempted.add(row.id)
                message = Message.single(self._payload(row), row.created)
                if not await self._attempt(name, channel, message, [row], now, stamp, report):
                    return
            if len(batch) < BATCH:
                return

    async def _deliver_digests(
        self,
        name: str,
        settings: Any,
        now: float,
        stamp: Callable[[], float],
        report: ChannelReport,
    ) -> None:
        period = settings.digest
        channel = self.channel(name)
        attempted: set[str] = set()
        while True:
            rows = outbox.pending_alerts(
                self.db, name, limit=DIGEST_MAX_ALERTS, not_kind=HEALTH
            )  # a digest holds topic alerts only (its contract); health goes singly
            due = []
            for row in rows:
                if row.id in attempted:
                    return
                if row.next_attempt > now or schedule.digest_window_end(row.created, period) > now:
                    break  # later alerts wait for their own period
                due.append(row)
            if not due:
                return
            allowance = self._allowance(name, settings, now)
            if allowance.count < len(due):
                held = due[max(0, allowance.count) :]
                boundary = schedule.next_boundary(now, period)
                if allowance.frees_at and allowance.frees_at > boundary:
                    boundary = schedule.next_boundary(allowance.frees_at - 1e-6, period)
                self._defer(name, held, boundary, now, report)
                due = due[: max(0, allowance.count)]
                if not due:
                    return
            attempted.update(r.id for r in due)
            message = Message.gathered(name, [self._payload(r) for r in due], stamp())
            if not await self._attempt(name, channel, message, due, now, stamp, report):
                return
            if len(rows) < DIGEST_MAX_ALERTS:
                return

    def _defer(
        self,
        name: str,
        rows: list[OutboxAlert],
        until_time: float,
        now: float,
        report: ChannelReport,
    ) -> None:
        outbox.defer(self.db, [r.id for r in rows], until_time)
        report.deferred += len(rows)
        log.info(
            "channel %s: max_per_hour reached; %d alert(s) wait until %s",
            name,
            len(rows),
            until(until_time, now),
        )

    def _payload(self, row: OutboxAlert) -> dict[str, Any]:
        """The alert body as stored, with "also reported by" as of now."""
        body = dict(row.payload)
        if row.item_id is not None:
            body["also_reported_by"] = outbox.also_reported_by(self.db, row.item_id)
        return body

    async def _attempt(
        self,
        name: str,
        channel: Channel,
        message: Message,
        rows: list[OutboxAlert],
        now: float,
        stamp: Callable[[], float],
        report: ChannelReport,
    ) -> bool:
        """Send one message and record the outcome; False when the channel should pause."""
        ids = [r.id for r in rows]
        try:
            receipt = await channel.send(message)
        except PermanentDeliveryError as exc:
            outbox.mark_dead(self.db, ids, error=exc.reason)
            report.dead += len(ids)
            report.errors.append(str(exc))
            log.error("channel %s: alert %s is dead: %s", name, message.id, exc.reason)
            return True
        except DeliveryError as exc:
            self._failed(name, message, rows, exc.reason, exc.retry_after, now, report)
            report.errors.append(str(exc))
            return False
        except Exception as exc:  # a bug in rendering or a channel: retried, then dead
            log.exception("channel %s: unexpected error sending %s", name, message.id)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self._failed(name, message, rows, reason, None, now, report)
            report.errors.append(f"channel {name}: {reason}")
            return False
        sent_at = stamp()
        outbox.mark_sent(self.db, ids, sent_at)
        report.latencies.extend(sent_at - r.created for r in rows)
        report.sent += len(ids)
        report.messages += 1
        log.info(
            "channel %s: delivered %s%s (%s)",
            name,
            "digest " if message.digest else "alert ",
            message.id,
            receipt.detail,
        )
        return True

    def _failed(
        self,
        name: str,
        message: Message,
        rows: list[OutboxAlert],
        reason: str,
        retry_after: float | None,
        now: float,
        report: ChannelReport,
    ) -> None:
        dead = [r for r in rows if schedule.exhausted(r.attempts + 1, self.policy)]
        alive = [r for r in rows if r not in dead]
        if dead:
            error = f"gave up after {self.policy.max_attempts} attempts: {reason}"
            outbox.mark_dead(self.db, [r.id for r in dead], error=error)
            report.dead += len(dead)
            log.error("channel %s: alert(s) %s dead: %s", name, _ids(dead), error)
        if alive:
            failures = max(r.attempts for r in alive) + 1
            when = schedule.next_attempt(now, failures, self.policy, self.rng, retry_after)
            outbox.mark_failed(self.db, [r.id for r in alive], next_attempt=when, error=reason)
            report.failed += len(alive)
            log.warning(
                "channel %s: %s failed (attempt %d of %d), retry %s: %s",
                name,
                message.id,
                failures,
                self.policy.max_attempts,
                until(when, now),
                reason,
            )


def _ids(rows: list[OutboxAlert]) -> str:
    return ", ".join(r.id for r in rows)
