"""When to try again, when a digest is due, how many alerts an hourly cap lets through.

Pure arithmetic on times the caller passes in (`now`), so every rule is tested with fixed
clocks and a seeded random generator, never by sleeping.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

HOUR = 3600.0
RETRY_AFTER_CAP = 86400.0  # a server asking for more than a day is not taken literally


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff: float = 30.0
    max_backoff: float = 3600.0


def backoff_delay(failures: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Exponential backoff with jitter after `failures` failed attempts (1, 2, …).

    The ceiling doubles from `backoff` up to `max_backoff`; the delay is drawn between
    half the ceiling and the ceiling, so retries spread out but never come early.
    """
    ceiling = min(policy.max_backoff, policy.backoff * 2 ** max(0, failures - 1))
    return ceiling / 2 + rng.random() * ceiling / 2


def next_attempt(
    now: float,
    failures: int,
    policy: RetryPolicy,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """When to try again: the backoff, or later if the server said so (Retry-After)."""
    delay = backoff_delay(failures, policy, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return now + delay


def exhausted(failures: int, policy: RetryPolicy) -> bool:
    """After this many failed attempts the alert is dead."""
    return failures >= policy.max_attempts


def digest_window_end(created: float, period: float) -> float:
    """The end of the digest period an alert falls in (periods align to the epoch, UTC)."""
    return (math.floor(created / period) + 1) * period


def next_boundary(now: float, period: float) -> float:
    """The next digest send time strictly after `now`."""
    return (math.floor(now / period) + 1) * period


@dataclass(frozen=True)
class Allowance:
    """How many alerts an hourly cap lets through now, and when a slot frees otherwise."""

    count: int
    frees_at: float | None = None


UNLIMITED = Allowance(count=1 << 30)


def hourly_allowance(sent_times: Sequence[float], now: float, limit: int | None) -> Allowance:
    """The cap counts alerts sent in the trailing hour (`sent_times` ascending)."""
    if limit is None:
        return UNLIMITED
    recent = [t for t in sent_times if now - HOUR < t <= now]
    if len(recent) < limit:
        return Allowance(limit - len(recent))
    # the oldest len(recent) - limit + 1 must leave the window before one more may go
    return Allowance(0, recent[len(recent) - limit] + HOUR)
