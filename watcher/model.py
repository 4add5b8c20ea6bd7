"""The values that flow between stages: a parsed feed and its items.

Plain frozen dataclasses with no behaviour that needs I/O, so every stage can be tested
by building them directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from watcher.text import normalize


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry, reduced to what watcher compares and shows.

    `key` is the item's identity within its feed: `guid:<id>`, else `link:<canonical
    link>`, else `hash:<content hash>`; it stays the same when the item's text is edited.
    """

    key: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()
    # content_hash, once computed; it travels with the item (pickled from a parse worker)
    _hash: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def content_hash(self) -> str:
        """Hash of the item's visible text in normal form: changes only on a real edit."""
        if self._hash is None:
            object.__setattr__(self, "_hash", content_hash(self.title, self.paragraphs))
        return self._hash  # type: ignore[return-value]

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "link": self.link,
            "published": self.published.isoformat() if self.published else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "author": self.author,
            "categories": list(self.categories),
            "paragraphs": list(self.paragraphs),
        }


def content_hash(title: str, paragraphs: tuple[str, ...] | list[str]) -> str:
    """sha256 (hex, 32 chars) over the normal form of a title and paragraphs."""
    digest = hashlib.sha256()
    digest.update(normalize(title).encode())
    for paragraph in paragraphs:
        digest.update(b"\x00")
        digest.update(normalize(paragraph).encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document holds, plus what the parser had to say about it."""

    title: str | None
    link: str | None
    items: tuple[Item, ...]
    warning: str | None = None  # a recoverable parse problem (feedparser's bozo)
    ttl_seconds: float | None = None  # the feed's own hint of how often to poll
    extra: dict[str, str] = field(default_factory=dict)
