"""The `items` table: every item watcher has recorded, as last seen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from watcher.model import Item


@dataclass(frozen=True)
class StoredItem:
    id: int
    feed_id: int
    content_hash: str
    first_seen: float


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def to_datetime(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def find_items(db: sqlite_utils.Database, feed_id: int, keys: list[str]) -> dict[str, StoredItem]:
    """Stored items of one feed by identity key, for the keys given (one query per 500)."""
    found: dict[str, StoredItem] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT key, id, feed_id, content_hash, first_seen FROM items"
            f" WHERE feed_id = ? AND key IN ({marks})",
            (feed_id, *chunk),
        ):
            found[row[0]] = StoredItem(*row[1:])
    return found


def content_hashes(db: sqlite_utils.Database, feed_id: int) -> frozenset[str]:
    """The content hashes of a feed's stored items (what a re-fetch would find unchanged)."""
    rows = db.execute("SELECT content_hash FROM items WHERE feed_id = ?", (feed_id,))
    return frozenset(row[0] for row in rows)


def _text_columns(item: Item) -> tuple:
    """The values of an item's editable columns, in `_TEXT_COLUMNS` order."""
    return (
        item.title,
        item.link,
        _epoch(item.published),
        _epoch(item.updated),
        item.author,
        json.dumps(list(item.categories), ensure_ascii=False),
        json.dumps(list(item.paragraphs), ensure_ascii=False),
        item.content_hash,
    )


_TEXT_COLUMNS = "title, link, published, updated, author, categories, paragraphs, content_hash"


def insert_item(db: sqlite_utils.Database, feed_id: int, item: Item, now: float) -> int:
    cursor = db.execute(
        f"INSERT INTO items (feed_id, key, {_TEXT_COLUMNS}, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (feed_id, item.key, *_text_columns(item), now, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update_item(db: sqlite_utils.Database, item_id: int, item: Item, now: float) -> None:
    """Store an edited item's new text; its identity and first_seen stay."""
    assignments = ", ".join(f"{column} = ?" for column in _TEXT_COLUMNS.split(", "))
    db.execute(
        f"UPDATE items SET {assignments}, last_seen = ? WHERE id = ?",
        (*_text_columns(item), now, item_id),
    )


def touch_items(db: sqlite_utils.Database, item_ids: list[int], now: float) -> None:
    """Mark items as still present in their feed (retention counts from last_seen)."""
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        db.execute(
            f"UPDATE items SET last_seen = ? WHERE id IN ({','.join('?' * len(chunk))})",
            (now, *chunk),
        )


def load_item(db: sqlite_utils.Database, item_id: int) -> tuple[int, Item] | None:
    """(feed_id, Item) for a stored id, or None if pruned."""
    row = db.execute(
        "SELECT feed_id, key, title, link, published, updated, author, categories, paragraphs"
        " FROM items WHERE id = ?",
        (item_id,),
    ).fetchone()
    if row is None:
        return None
    return row[0], _item_from_row(row[1:])


def _item_from_row(row: tuple) -> Item:
    key, title, link, published, updated, author, categories, paragraphs = row
    return Item(
        key=key,
        title=title,
        link=link,
        published=to_datetime(published),
        updated=to_datetime(updated),
        author=author,
        categories=tuple(json.loads(categories)),
        paragraphs=tuple(json.loads(paragraphs)),
    )


def items_since(db: sqlite_utils.Database, since: float) -> list[tuple[int, str, str, Item]]:
    """(item id, feed name, feed url, Item) first seen at or after `since`, oldest first."""
    rows = db.execute(
        "SELECT items.id, COALESCE(feeds.name, feeds.title, feeds.url), feeds.url, items.key,"
        " items.title, items.link, items.published, items.updated, items.author,"
        " items.categories, items.paragraphs FROM items JOIN feeds ON feeds.id = items.feed_id"
        " WHERE items.first_seen >= ? ORDER BY items.first_seen, items.id",
        (since,),
    )
    return [(r[0], r[1], r[2], _item_from_row(r[3:])) for r in rows]
