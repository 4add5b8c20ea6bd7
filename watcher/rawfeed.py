"""What a format reader (RSS/Atom, JSON Feed) hands to `watcher.parse`.

Readers know their format; `parse` knows watcher's rules (identity, date clamping,
repeated paragraphs, missing titles). This module is the narrow value between them, so
both readers produce the same shape and the rules live in one place.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from watcher.text import html_to_paragraphs

_UPDATE_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}


@dataclass(slots=True)
class RawEntry:
    """One entry as the format states it, already reduced to plain text."""

    guid: str | None
    title: str
    link: str | None  # absolute where the feed URL allowed, http(s) only
    published: datetime | None  # aware, UTC
    updated: datetime | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    paragraphs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RawFeed:
    """A whole document: feed-level fields, entries in document order, warnings."""

    title: str | None
    link: str | None
    entries: list[RawEntry]
    warnings: list[str] = field(default_factory=list)
    ttl_seconds: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


def plain_text(value: object) -> str:
    """A one-line plain string from feed text that may hold markup or entities.

    Titles, names and tags sometimes carry HTML (`<b>Breaking</b>`) or entities escaped
    twice (`&amp;#8230;`); readers want the text. Anything that is not a string is "".
    """
    if not isinstance(value, str) or not value:
        return ""
    return " ".join(html_to_paragraphs(value))


def unique(values: list[str]) -> tuple[str, ...]:
    """Non-empty values without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(v for v in values if v))


def utc_datetime(value: object) -> datetime | None:
    """A UTC struct_time (as feedparser's date parsers give) as an aware datetime."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        # a leap second (60) or feedparser's 61 would make datetime refuse the value
        return datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def ttl_seconds(ttl: object, period: object, frequency: object) -> float | None:
    """RSS <ttl> (minutes), else sy:updatePeriod / sy:updateFrequency (None if absent)."""
    minutes = _number(ttl)
    if minutes is not None and minutes > 0:
        return minutes * 60
    if period is None and frequency is None:
        return None
    seconds = _UPDATE_PERIODS.get(_string(period).strip().lower() or "daily")
    times = 1.0 if frequency is None else _number(frequency)
    if seconds is None or times is None or times <= 0:
        return None
    return seconds / times


def _number(value: object) -> float | None:
    try:
        number = float(_string(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
