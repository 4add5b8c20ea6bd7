"""Feed health: when to raise or clear a feed health alert, and what to tell the operator.

Pure functions over a feed's stored health record; `now` is always passed in.

A feed is in one health *episode* at a time: `ok`, `failing` (`health.failures` failed
polls in a row), `stale` (answers, but has published nothing for longer than it usually
does) or `gone` (HTTP 410; no longer polled). Entering `failing`, `stale` or `gone` raises
one notice; leaving an episode that raised one gives one `recovered` notice. A permanent
redirect raises one `moved` notice without changing the state. Never one per failed poll:
each notice carries an `episode` key, and the alert id built from it is stable, so the
outbox refuses a repeat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, Literal

from watcher.alerts import iso
from watcher.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    ResponseTooLarge,
    TooManyRedirects,
)
from watcher.polling import PublishStats

OK, FAILING, STALE, GONE = "ok", "failing", "stale", "gone"
RECOVERED, MOVED = "recovered", "moved"

STALE_FACTOR = 1.5  # stale after 1.5x the longest gap the feed's history shows
STALE_MIN_GAPS = 5  # fewer gaps: too little history to know what is usual
STALE_NO_HISTORY = 7 * 86400.0  # what counts as stale before the history says more

StaleAfter = float | Literal["auto", "off"]


@dataclass(frozen=True)
class HealthSettings:
    """`health:` in the config, as the decisions need it."""

    failures: int = 5
    stale_after: StaleAfter = "auto"
    stale_floor: float = 6 * 3600.0


@dataclass(frozen=True)
class HealthRecord:
    """A feed's current episode, as stored in `feeds` (health_* columns)."""

    state: str = OK
    since: float | None = None
    alerted: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Notice:
    """One feed health alert to queue, on every channel under `health.channels`."""

    state: str  # failing | stale | recovered | moved | gone
    reason: str
    since: float
    advice: str
    episode: str  # stable for the episode: part of the alert id
    moved_to: str | None = None


@dataclass(frozen=True)
class Transition:
    record: HealthRecord
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Why a poll failed, sorted into the kinds that call for different advice."""

    kind: str  # unauthorized | forbidden | not-found | rate-limited | server | gone | dns |
    # refused | timeout | tls | too-large | redirects | not-a-feed | http | network
    reason: str
    status: int | None = None


# --- classifying a failure ---------------------------------------------------------------


def classify(exc: FetchError | ParseError) -> Problem:
    """The kind of problem behind a failed poll, from the exception the pipeline caught."""
    if isinstance(exc, ParseError):
        return Problem("not-a-feed", str(exc))
    reason = exc.reason
    if isinstance(exc, HTTPStatusError):
        status = exc.status
        kind = {401: "unauthorized", 403: "forbidden", 404: "not-found", 410: "gone",
                429: "rate-limited"}.get(status)  # fmt: skip
        if kind is None:
            kind = "server" if status >= 500 else "http"
        return Problem(kind, reason, status)
    if isinstance(exc, FetchTimeout):
        return Problem("timeout", reason)
    if isinstance(exc, ResponseTooLarge):
        return Problem("too-large", reason)
    if isinstance(exc, TooManyRedirects):
        return Problem("redirects", reason)
    lowered = reason.lower()
    if "cannot resolve host" in lowered:
        return Problem("dns", reason)
    if "connection refused" in lowered:
        return Problem("refused", reason)
    if "tls" in lowered or "certificate" in lowered:
        return Problem("tls", reason)
    return Problem("network", reason)


ADVICE = {
    "unauthorized": "The server asks for credentials (HTTP 401): the feed is behind a login "
    "now. If you have access, use the feed URL with its token; otherwise remove the feed.",
    "forbidden": "The server refuses watcher (HTTP 403), often a bot wall or a block on "
    "the User-Agent. Open the URL in a browser: if it works there, set `user_agent:` to "
    "one the site accepts or ask the site to allow watcher; if not, replace the URL.",
    "not-found": "Nothing is at this address any more (HTTP 404): the feed has probably "
    "moved. Find its new address on the site (look for the RSS link) and replace `url:`.",
    "rate-limited": "The server is rate-limiting watcher (HTTP 429): raise this feed's "
    "`interval:` or `min_interval:`, and lower `per_host_concurrency:` if many feeds share "
    "this host.",
    "server": "The server is failing (HTTP 5xx); this is usually temporary and watcher "
    "keeps retrying. If it lasts for days, tell the site or replace the feed.",
    "http": "The server answers with an error instead of the feed. Open the URL in a "
    "browser, then fix or replace `url:`.",
    "gone": "The server says the feed was removed for good (HTTP 410), so watcher has "
    "stopped polling it. Remove it from the config, or replace its URL with the new feed.",
    "dns": "The domain does not resolve: the site may have closed or changed its address. "
    "Check the URL in a browser, then replace or remove the feed.",
    "refused": "Nothing answers at this address (connection refused): the server is down or "
    "moved. watcher keeps retrying; check the URL if it lasts.",
    "timeout": "The server is too slow to answer. watcher keeps retrying; if the feed is "
    "merely slow, raise its `timeout:`.",
    "tls": "The HTTPS connection fails (certificate expired, wrong host name or a broken "
    "server). Check the URL in a browser; watcher keeps retrying.",
    "too-large": "The feed is larger than `max_bytes:`. If that size is expected, raise "
    "`max_bytes:` for this feed.",
    "redirects": "The address redirects in a loop or too many times. Open it in a browser "
    "and put the feed's final address in `url:`.",
    "not-a-feed": "The address returns something that is not a feed (often an HTML page: a "
    "consent wall, an error page or the home page). Find the feed's real URL on the site.",
    "network": "watcher keeps retrying with backoff. Check the URL and the network if this lasts.",
}


def advice_for(problem: Problem) -> str:
    return ADVICE.get(problem.kind, ADVICE["network"])


# --- durations for messages ---------------------------------------------------------------


def span(seconds: float) -> str:
    """`3d 4h`, `5h 20m`, `45m`, `30s`: two units at most, for people."""
    seconds = max(0, int(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for position, (unit, size) in enumerate(units):
        if seconds < size and unit != "s":
            continue
        major, rest = divmod(seconds, size)
        text = f"{major}{unit}"
        if position + 1 < len(units):
            minor_unit, minor_size = units[position + 1]
            if rest // minor_size:
                text += f" {rest // minor_size}{minor_unit}"
        return text
    raise AssertionError("unreachable")


# --- decisions ----------------------------------------------------------------------------


def stale_threshold(settings: HealthSettings, stats: PublishStats) -> float | None:
    """How long a silence is unusual for this feed (None: never report staleness).

    `auto`: 1.5x the longest gap in its history (a nightly or weekend pause is part of
    the history, so it does not alarm), at least `stale_floor`; with too little history,
    a week (or 1.5x the longest gap seen, if longer).
    """
    if settings.stale_after == "off":
        return None
    if settings.stale_after != "auto":
        return float(settings.stale_after)
    longest = STALE_FACTOR * stats.long_gap if stats.long_gap else 0.0
    if stats.gaps < STALE_MIN_GAPS:
        return max(settings.stale_floor, STALE_NO_HISTORY, longest)
    return max(settings.stale_floor, longest)


def after_failure(
    record: HealthRecord,
    *,
    problem: Problem,
    failures: int,
    failing_since: float,
    now: float,
    settings: HealthSettings,
) -> Transition:
    """The record after a failed poll (`failures` in a row, counting this one)."""
    if problem.kind == "gone":
        reason = f"the server answered {problem.reason}: the feed was removed"
        notice = Notice(GONE, reason, now, advice_for(problem), f"gone:{now:.0f}")
        return Transition(HealthRecord(GONE, now, True, reason), (notice,))
    reason = f"{failures} failed poll{'s' * (failures != 1)} in a row: {problem.reason}"
    if failures < settings.failures:
        return Transition(record)
    if record.state == FAILING and record.alerted:
        return Transition(replace(record, reason=reason))
    notice = Notice(
        FAILING, reason, failing_since, advice_for(problem), f"failing:{failing_since:.0f}"
    )
    return Transition(HealthRecord(FAILING, failing_since, True, reason), (notice,))


def after_success(
    record: HealthRecord,
    *,
    now: float,
    silent_since: float,
    stats: PublishStats,
    settings: HealthSettings,
    moved_from: str | None = None,
    moved_to: str | None = None,
) -> Transition:
    """The record after a good poll (changed or not).

    `silent_since` is when the feed last had a new item (or when watching began).
    Recovering from `failing` and then being `stale` can happen in one poll: two notices.
    """
    notices: list[Notice] = []
    current = record
    if current.state in (FAILING, GONE):
        if current.alerted:
            notices.append(_recovered(current, now, "polls succeed again"))
        current = HealthRecord()
    threshold = stale_threshold(settings, stats)
    silent_for = now - silent_since
    if threshold is not None and silent_for > threshold:
        if current.state != STALE or not current.alerted:
            usual = (
                f"; its longest usual gap is {span(stats.long_gap)}"
                if stats.long_gap and stats.gaps >= STALE_MIN_GAPS
                else ""
            )
            reason = f"no new item for {span(silent_for)}{usual}"
            notices.append(
                Notice(STALE, reason, silent_since, _stale_advice(threshold),
                       f"stale:{silent_since:.0f}")
            )  # fmt: skip
            current = HealthRecord(STALE, silent_since, True, reason)
    elif current.state == STALE:
        if current.alerted:
            notices.append(_recovered(current, now, "the feed publishes again"))
        current = HealthRecord()
    if moved_to and moved_to != moved_from:
        notices.append(
            Notice(
                MOVED,
                f"the feed moved permanently (HTTP 301/308) from {moved_from} to {moved_to}",
                now,
                f"watcher already polls the new address. Replace `url: {moved_from}` with "
                f"`url: {moved_to}` in the config so the two agree.",
                f"moved:{moved_to}",
                moved_to=moved_to,
            )
        )
    return Transition(current, tuple(notices))


def _stale_advice(threshold: float) -> str:
    return (
        "The feed still answers but publishes nothing new. It may have stopped, or moved to "
        "a new address while the old one stays frozen: check the site for its current feed. "
        f"This is reported after {span(threshold)} of silence; set `health.stale_after:` "
        "to change that."
    )


def _recovered(record: HealthRecord, now: float, what: str) -> Notice:
    since = record.since if record.since is not None else now
    reason = f"{what} (was {record.state} since {iso(since)}"
    reason += f": {record.reason})" if record.reason else ")"
    return Notice(
        RECOVERED, reason, since, "No action needed.", f"recovered:{record.state}:{since:.0f}"
    )


# --- the alert ----------------------------------------------------------------------------


def health_alert_id(feed_url: str, episode: str, channel: str) -> str:
    """Stable per (feed, episode, channel): a repeated notice is refused by the outbox."""
    h = hashlib.sha256()
    for part in ("health", feed_url, episode, channel):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


def health_body(
    notice: Notice, *, alert_id: str, created: float, feed_name: str, feed_url: str
) -> dict[str, Any]:
    """The webhook body of a feed health alert (`"type": "health"`)."""
    body: dict[str, Any] = {
        "type": "health",
        "id": alert_id,
        "created": iso(created),
        "feed": {"name": feed_name, "url": feed_url},
        "state": notice.state,
        "reason": notice.reason,
        "since": iso(notice.since),
        "advice": notice.advice,
    }
    if notice.moved_to:
        body["moved_to"] = notice.moved_to
    return body
