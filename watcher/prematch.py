"""Topic matching ahead of dedup, in a parse worker, for items that are wholly new.

Which topics an item matches depends on its *new* content (DESIGN.md: only what the
reader has not seen alerts), and what is new is known only after dedup has looked the
item's paragraphs up in the database, in the main process. But on a first poll, and for
most fresh stories, nothing is found: the new content is the whole item (less
boilerplate and repeats), which a parse worker knows from the document alone. So the
worker matches that, and the main process keeps the result when dedup agrees, which
takes the tokenizing and topic evaluation (a third of the main process's CPU on a
first poll of thousands of feeds) off the one process every item passes through.

The result is only a shortcut, never a second opinion: it is used when the topics, the
feed's name and address and the new content are exactly those the main process would
match, else the main process matches as before. Pure code, no I/O.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watcher.dedup.decide import DedupResult, DedupSettings, PreparedItem, decide
from watcher.model import Item
from watcher.query import Document, Match, Query, TopicIndex


def alert_document(
    item: Item, *, title_is_new: bool, new_paragraphs: Sequence[str], feed_name: str, feed_url: str
) -> Document:
    """What topics are matched against: the item's new title and paragraphs, and the
    fields that are never "seen before" (feed, author, categories, link)."""
    return Document(
        title=item.title if title_is_new else "",
        paragraphs=tuple(new_paragraphs),
        feed=feed_name,
        author=item.author or "",
        categories=tuple(item.categories),
        link=item.link or "",
        feed_url=feed_url,
    )


@dataclass(frozen=True)
class TopicContext:
    """The topics a parse worker matches with, sent once per worker (not per document).

    `key` tells one set of topics from another, so a result made with the topics of a
    config since reloaded is never used.
    """

    key: str
    topics: tuple[tuple[str, Query], ...]

    @classmethod
    def of(cls, queries: Mapping[str, Query]) -> TopicContext:
        topics = tuple(queries.items())
        return cls(hashlib.blake2b(pickle.dumps(topics), digest_size=12).hexdigest(), topics)


@dataclass(frozen=True)
class FeedLabel:
    """What a worker needs to know of the feed to match as the main process would."""

    topics_key: str
    name: str | None  # the configured name
    config_url: str
    url: str
    silent_before: float | None = None  # backfill: items published before never alert

    def feed_name(self, parsed_title: str | None) -> str:
        return self.name or parsed_title or self.config_url


@dataclass(frozen=True)
class PreMatch:
    """The topics an item matches if dedup finds none of it in the database."""

    topics_key: str
    feed_name: str
    feed_url: str
    title_is_new: bool
    new_paragraphs: tuple[str, ...]
    matches: tuple[tuple[str, Match], ...]

    def applies(
        self, topics_key: str, feed_name: str, feed_url: str, assessment: DedupResult
    ) -> bool:
        """Whether the main process would match exactly this document."""
        return (
            self.topics_key == topics_key
            and self.feed_name == feed_name
            and self.feed_url == feed_url
            and self.title_is_new == assessment.title_is_new
            and self.new_paragraphs == tuple(assessment.new_paragraphs)
        )


def prematch(
    item: Item,
    prepared: PreparedItem,
    *,
    index: TopicIndex,
    topics_key: str,
    feed_name: str,
    feed_url: str,
    settings: DedupSettings,
) -> PreMatch | None:
    """Match the content `decide` reports new when no lookup finds anything; None
    when that would not alert anyway."""
    unseen = decide(
        prepared,
        None,
        [None] * len(prepared.paragraphs),
        is_update=False,
        now=0.0,  # only compared with the first sighting of a matched title: none here
        settings=settings,
    )
    if not unseen.alerts:
        return None
    document = alert_document(
        item,
        title_is_new=unseen.title_is_new,
        new_paragraphs=unseen.new_paragraphs,
        feed_name=feed_name,
        feed_url=feed_url,
    )
    return PreMatch(
        topics_key,
        feed_name,
        feed_url,
        unseen.title_is_new,
        tuple(unseen.new_paragraphs),
        tuple(index.match(document)),
    )
