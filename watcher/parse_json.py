"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), which feedparser does not read.

Every field is checked for its type before use: the document comes from the network and
`"title": 42` or `"items": {}` must cost a skipped field, not a crash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from watcher.errors import ParseError
from watcher.rawfeed import RawEntry, RawFeed, plain_text, unique
from watcher.text import html_to_paragraphs, split_plain_text
from watcher.urls import resolve_link

_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_JSON_TYPES = ("application/feed+json", "application/json")
_FEED_KEYS = ("title", "feed_url", "home_page_url")


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """Whether to read the body as JSON: it opens with `{`, or says it is JSON and is not XML."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        return True
    mime = (content_type or "").partition(";")[0].strip().lower()
    return (mime in _JSON_TYPES or mime.endswith("+json")) and start != b"<"


def read_json(body: bytes, *, url: str = "") -> RawFeed:
    """Entries of a JSON Feed; ParseError if the body is not JSON or not a JSON Feed."""
    warnings: list[str] = []
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        document = _loads_replacing(body)
        warnings.append("invalid UTF-8 in JSON Feed replaced")
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({_short(exc)})") from exc
    if not isinstance(document, dict):
        raise ParseError("not a feed: JSON that is not a JSON Feed (not an object)")
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        if not _has_feed_shape(document):
            raise ParseError("not a feed: JSON that is not a JSON Feed (no jsonfeed.org version)")
        warnings.append(f"JSON Feed version {str(version)[:40]!r} is not a jsonfeed.org URL")
        version = "1"
    base = url or _str(document.get("feed_url")) or _str(document.get("home_page_url"))
    feed_author = _authors(document)
    items = document.get("items")
    if not isinstance(items, list):
        warnings.append("JSON Feed has no items array")
        items = []
    entries = [_entry(item, base, feed_author) for item in items if isinstance(item, dict)]
    if len(entries) < len(items):
        warnings.append(f"{len(items) - len(entries)} JSON Feed items are not objects; skipped")
    return RawFeed(
        title=plain_text(document.get("title")) or None,
        link=resolve_link(_str(document.get("home_page_url")), base),
        entries=entries,
        warnings=warnings,
        extra={"format": "json" + version.rstrip("/").rpartition("/")[2].replace(".", "")},
    )


def _has_feed_shape(document: dict[str, Any]) -> bool:
    """A JSON Feed that gets its `version` wrong: items (objects), and a version or title.

    Some generators write `"version": "1.0"`; refusing their feeds would help nobody. Any
    other JSON (an API response, Dave Winer's RSS-in-JSON) still is not a feed.
    """
    items = document.get("items")
    return (
        isinstance(items, list)
        and all(isinstance(item, dict) for item in items)
        and ("version" in document or any(isinstance(document.get(k), str) for k in _FEED_KEYS))
    )


def _loads_replacing(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({_short(exc)})") from exc


def _entry(item: dict[str, Any], base: str, feed_author: str | None) -> RawEntry:
    identifier = item.get("id")
    if isinstance(identifier, int | float) and not isinstance(identifier, bool):
        identifier = str(identifier)  # 1.0 feeds sometimes use numbers; the spec says coerce
    link = _str(item.get("url")) or _str(item.get("external_url"))
    return RawEntry(
        guid=_str(identifier).strip() or None,
        title=plain_text(item.get("title")),
        link=resolve_link(link, base),
        published=parse_rfc3339(item.get("date_published")),
        updated=parse_rfc3339(item.get("date_modified")),
        author=_authors(item) or feed_author,
        categories=unique([plain_text(tag) for tag in _list(item.get("tags"))]),
        paragraphs=_paragraphs(item),
    )


def _paragraphs(item: dict[str, Any]) -> list[str]:
    """content_html, else content_text, else summary."""
    paragraphs = html_to_paragraphs(_str(item.get("content_html")))
    if not paragraphs:
        paragraphs = split_plain_text(_str(item.get("content_text")))
    if not paragraphs:
        paragraphs = html_to_paragraphs(_str(item.get("summary")))
    return paragraphs


def _authors(holder: dict[str, Any]) -> str | None:
    """Names from 1.1 `authors` (a list), else 1.0 `author` (one object)."""
    people = _list(holder.get("authors")) or [holder.get("author")]
    names = [plain_text(p.get("name")) for p in people if isinstance(p, dict)]
    return ", ".join(unique(names)) or None


def parse_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; None if absent or unreadable.

    A timestamp without an offset (not RFC 3339, but seen) is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().upper().replace(" ", "T"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the range by the offset
        return None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__
