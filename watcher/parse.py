"""A fetched body becomes a ParsedFeed: feed fields plus one Item per entry.

`parse_feed` picks the reader (JSON Feed by content type or a leading `{`, else
RSS/Atom through feedparser), then applies watcher's rules to every entry the same way:

* identity: `guid:<id>`, else `link:<canonical link>`, else `hash:<content hash>`. The
  guid is kept verbatim except for one revision counter: a URL guid ending in a numeric
  fragment (`…/c5y49xp2wrno#0`, then `#1` once edited, as the BBC does) loses the
  fragment, so an edit stays the same item and is handled as an update. If a
  document gives one guid (or one link) to entries with different text, that value does
  not identify them, so they fall back to the next form; entries repeated verbatim are
  kept once. Keys are therefore unique within a ParsedFeed.
* text: paragraphs from the content (else the summary), a paragraph repeating an
  earlier one of the same entry dropped; a missing title is the start of the first
  paragraph. An entry with no title, text, link or id is skipped.
* dates: aware UTC; `published` falls back to `updated` (Atom and RSS 1.0 `dc:date`
  often carry only that). A date more than FUTURE_TOLERANCE after `now` is a
  publisher's clock or time-zone error; it is clamped to `now`, so the item is neither
  "newest forever" in listings nor inside every future backfill window.

Only ParseError leaves this module, and only for a body that is no feed at all (or a
hostile one); recoverable problems go into `ParsedFeed.warning`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watcher.errors import ParseError
from watcher.model import Item, ParsedFeed, content_hash
from watcher.parse_json import looks_like_json, read_json
from watcher.parse_xml import read_xml
from watcher.rawfeed import RawEntry, RawFeed
from watcher.text import drop_repeats
from watcher.urls import canonical_url

FUTURE_TOLERANCE = timedelta(days=1)
TITLE_FROM_TEXT_CHARS = 100  # a title made from the first paragraph is cut near this length
MAX_WARNING_CHARS = 300
_REVISION_FRAGMENT = re.compile(r"(https?://[^#\s]+)#[0-9]+", re.IGNORECASE)

__all__ = ["FUTURE_TOLERANCE", "parse_feed"]


def parse_feed(
    body: bytes,
    *,
    url: str = "",
    content_type: str | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse one fetched feed document (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.0/1.1).

    `url` is the address it was fetched from (the base for relative links) and
    `content_type` the HTTP Content-Type, whose charset is honoured. `body` must be the
    raw bytes: a `str` is refused, since feedparser would treat one as a URL to fetch
    or a file to open.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"parse_feed needs the body as bytes, not {type(body).__name__}")
    body = bytes(body)
    if not body.strip():
        raise ParseError("not a feed: empty body")
    now = _aware(now) if now is not None else datetime.now(UTC)
    if looks_like_json(body, content_type):
        raw = read_json(body, url=url)
    else:
        raw = read_xml(body, url=url, content_type=content_type)
    return _assemble(raw, now)


@dataclass(slots=True)
class _Draft:
    """An entry on its way to an Item, with every identity it could have."""

    entry: RawEntry
    title: str
    paragraphs: tuple[str, ...]
    guid_key: str | None
    link_key: str | None
    hash_key: str
    level: int = 0  # 0 guid, 1 link, 2 hash: which identity it ends up with

    @property
    def key(self) -> str:
        return [self.guid_key, self.link_key, self.hash_key][self.level] or self.hash_key


def _assemble(raw: RawFeed, now: datetime) -> ParsedFeed:
    warnings = list(raw.warnings)
    drafts: list[_Draft] = []
    clamped = 0
    for entry in raw.entries:
        paragraphs = tuple(drop_repeats(entry.paragraphs))
        if not (entry.title or paragraphs or entry.link or entry.guid):
            continue
        title = entry.title or _title_from(paragraphs)
        published, updated = entry.published or entry.updated, entry.updated
        limit = now + FUTURE_TOLERANCE
        if published is not None and published > limit:
            published, clamped = now, clamped + 1
        if updated is not None and updated > limit:
            updated = now
        entry.published, entry.updated = published, updated
        drafts.append(
            _Draft(
                entry=entry,
                title=title,
                paragraphs=paragraphs,
                guid_key=_guid_key(entry.guid) if entry.guid else None,
                link_key=f"link:{canonical_url(entry.link)}" if entry.link else None,
                hash_key=f"hash:{content_hash(title, paragraphs)}",
            )
        )
    if clamped:
        warnings.append(f"{clamped} entries dated more than a day ahead; dated now instead")
    items, note = _unique_identities(drafts)
    if note:
        warnings.append(note)
    warning = "; ".join(warnings)
    return ParsedFeed(
        title=raw.title,
        link=raw.link,
        items=tuple(items),
        warning=warning[:MAX_WARNING_CHARS] or None,
        ttl_seconds=raw.ttl_seconds,
        extra=dict(raw.extra),
    )


def _unique_identities(drafts: list[_Draft]) -> tuple[list[Item], str | None]:
    """Items with unique keys: shared guids/links demoted, verbatim repeats dropped."""
    for draft in drafts:
        draft.level = 0 if draft.guid_key else 1 if draft.link_key else 2
    demoted: set[int] = set()
    for level in (0, 1):
        groups: dict[str, list[_Draft]] = defaultdict(list)
        for draft in drafts:
            if draft.level == level:
                groups[draft.key].append(draft)
        for group in groups.values():
            if len(group) > 1 and len({d.hash_key for d in group}) > 1:
                for draft in group:
                    demoted.add(id(draft))
                    draft.level = 1 if level == 0 and draft.link_key else 2
    items: list[Item] = []
    seen: set[str] = set()
    for draft in drafts:
        if draft.key in seen:
            continue
        seen.add(draft.key)
        items.append(_item(draft))
    notes = []
    if demoted:
        notes.append(f"{len(demoted)} entries share a guid or link with different text")
    if len(items) < len(drafts):
        notes.append(f"{len(drafts) - len(items)} repeated entries dropped")
    return items, "; ".join(notes) or None


def _item(draft: _Draft) -> Item:
    entry = draft.entry
    return Item(
        key=draft.key,
        title=draft.title,
        link=entry.link,
        published=entry.published,
        updated=entry.updated,
        author=entry.author,
        categories=entry.categories,
        paragraphs=draft.paragraphs,
    )


def _guid_key(guid: str) -> str:
    """`guid:<guid>`, without a URL guid's numeric revision fragment."""
    match = _REVISION_FRAGMENT.fullmatch(guid)
    return f"guid:{match.group(1) if match else guid}"


def _title_from(paragraphs: tuple[str, ...]) -> str:
    """A stand-in title: the first paragraph, cut at a word near TITLE_FROM_TEXT_CHARS."""
    if not paragraphs:
        return ""
    text = paragraphs[0]
    if len(text) <= TITLE_FROM_TEXT_CHARS:
        return text
    cut = text.rfind(" ", 0, TITLE_FROM_TEXT_CHARS)
    return text[: cut if cut > TITLE_FROM_TEXT_CHARS // 2 else TITLE_FROM_TEXT_CHARS] + "…"


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
