"""What a format reader (RSS/Atom, JSON Feed) hands to `watcher.parse`.

Readers know their format; `parse` knows watcher's rules (identity, date clamping,
repeated paragraphs, missing titles). This module is the narrow value between them, so
both readers produce the same shape and the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from watcher.text import html_to_paragraphs


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
