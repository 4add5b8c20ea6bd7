"""The SQLite side of dedup: looking sketches up, recording new ones, pruning old ones.

Table `dedup_fingerprints` (migration 3) holds one row per paragraph or title the first
time it was seen: the item, the time, the exact hash, the shingle count, the 32-byte
sketch and 5 band keys, never the text (the items table has it). Every lookup goes
through an index: `band0..band4` for exact and near-duplicate candidates (an exact
repeat shares every band, so the exact hash needs no index of its own: one index fewer
to update per stored paragraph), `item_id` to compare a republication against the rest
of its original and an update against its own earlier version. Nothing is loaded at
start-up; a lookup costs a few index probes whatever the size of the table.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

import sqlite_utils

from watcher.dedup.decide import (
    DedupResult,
    DedupSettings,
    Match,
    PreparedItem,
    PreparedText,
    decide,
    max_novel,
    prepare,
)
from watcher.dedup.fingerprint import BANDS, Sketch, is_near_duplicate
from watcher.model import Item

log = logging.getLogger(__name__)

_COLUMNS = "id, item_id, kind, first_seen, exact, shingles, sketch, " + ", ".join(
    f"band{i}" for i in range(BANDS)
)
_INSERT = (
    f"INSERT INTO dedup_fingerprints (item_id, kind, first_seen, exact, shingles, sketch, "
    f"{', '.join(f'band{i}' for i in range(BANDS))}) "
    f"VALUES ({', '.join('?' * (6 + BANDS))})"
)
_JSON_LIST = "(SELECT value FROM json_each(?))"
# The rows sharing a band key, in one statement: ids from the band indexes alone
# (covering: no table access), then the rows of the distinct ids.
_SELECT_BY_BANDS = (
    f"SELECT {_COLUMNS} FROM dedup_fingerprints WHERE id IN ("
    + " UNION ".join(
        f"SELECT id FROM dedup_fingerprints WHERE band{band} IN {_JSON_LIST}"
        for band in range(BANDS)
    )
    + ") ORDER BY id"
)
_EXPAND_ITEMS = 4  # earlier items whose whole fingerprint set is compared


class _Row:
    """A stored fingerprint as read back for verification."""

    __slots__ = ("first_seen", "id", "item_id", "sketch")

    def __init__(self, row: Sequence) -> None:
        self.id = row[0]
        self.item_id = row[1]
        self.first_seen = float(row[3])
        self.sketch = Sketch(row[2], row[4], row[5], bytes(row[6]), tuple(row[7:]))


class DedupStore:
    """Paragraph and title fingerprints in SQLite: `assess`, `record`, `prune`."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # -- lookups -------------------------------------------------------------------------

    def _by_bands(self, sketches: list[Sketch]) -> list[_Row]:
        """Stored fingerprints sharing a band key with any of `sketches`.

        Keys travel as JSON arrays so the SQL text never changes and SQLite's prepared
        statement is reused.
        """
        per_band: list[set[int]] = [set() for _ in range(BANDS)]
        for sk in sketches:
            for band, key in enumerate(sk.bands):
                if key is not None:
                    per_band[band].add(key)
        params = [_int_list(keys) for keys in per_band]
        return [_Row(r) for r in self.db.execute(_SELECT_BY_BANDS, params)]

    def _by_items(self, item_ids: list[int]) -> list[_Row]:
        sql = f"SELECT {_COLUMNS} FROM dedup_fingerprints WHERE item_id IN {_JSON_LIST}"
        return [_Row(r) for r in self.db.execute(sql, (_int_list(set(item_ids)),))]

    def lookup(
        self, texts: Sequence[PreparedText], *, item_id: int | None, settings: DedupSettings
    ) -> list[Match | None]:
        """The best stored match for each text (None: new, or not looked up).

        Candidates come from the band indexes (exact repeats share every band; a text too
        short for any band carries a key derived from its exact hash instead) and are
        verified: equal exact hash, or `is_near_duplicate`. Then the texts still unmatched
        are compared with every fingerprint of the earlier items already matched (and of
        this item's own earlier version), which catches a copied paragraph edited enough
        to have lost all its bands.
        """
        best: list[Match | None] = [None] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.sketch is not None]
        if not todo:
            return best
        threshold = settings.near_duplicate_threshold
        limit = max_novel(settings)
        seen_rows: set[int] = set()

        def consider(i: int, rows: Iterable[_Row]) -> None:
            sk = texts[i].sketch
            assert sk is not None
            for row in rows:
                if row.sketch.kind != sk.kind:
                    continue
                if row.sketch.exact == sk.exact:
                    match = Match(row.id, row.item_id, row.first_seen, "exact", 1.0,
                                  own=row.item_id == item_id)  # fmt: skip
                else:
                    sim = is_near_duplicate(sk, row.sketch, threshold, limit)
                    if sim is None:
                        continue
                    match = Match(row.id, row.item_id, row.first_seen, "near", sim,
                                  own=row.item_id == item_id)  # fmt: skip
                if _better(match, best[i]):
                    best[i] = match

        # an exact repeat shares every band, so one band lookup finds both kinds of match
        band_rows = self._by_bands([texts[i].sketch for i in todo])  # type: ignore[misc]
        seen_rows.update(row.id for row in band_rows)
        for i in todo:
            sk = texts[i].sketch
            assert sk is not None
            consider(i, (r for r in band_rows if _share_band(sk, r.sketch)))

        todo = [i for i in todo if best[i] is None]
        matched_items = Counter(m.item_id for m in best if m is not None and not m.own)
        expand = [item for item, _ in matched_items.most_common(_EXPAND_ITEMS)]
        if item_id is not None:
            expand.append(item_id)
        if todo and expand:
            rows = [r for r in self._by_items(expand) if r.id not in seen_rows]
            for i in todo:
                consider(i, rows)
        return best

    # -- the API the pipeline uses --------------------------------------------------------

    def assess(
        self,
        item: Item,
        *,
        item_id: int | None,
        is_update: bool,
        now: float,
        settings: DedupSettings,
        prepared: PreparedItem | None = None,
    ) -> DedupResult:
        """What is new in `item` and what it is (new, update, republication, nothing new).

        `item_id` is the item's stored id when it already exists: its own fingerprints
        make paragraphs old but never make it a republication. Reads only; `record`
        stores what this found new. `prepared` is `prepare(item, settings)` when the
        caller already has it (a parse worker computes it off the database process).
        """
        if prepared is None:
            prepared = prepare(item, settings)
        texts = [prepared.title, *prepared.paragraphs]
        found = self.lookup(texts, item_id=item_id, settings=settings)
        return decide(
            prepared, found[0], found[1:], is_update=is_update, now=now, settings=settings
        )

    def record(self, result: DedupResult, *, item_id: int, now: float) -> None:
        """Store the fingerprints `result` found new (title and paragraphs) for `item_id`.

        Runs inside the caller's transaction when one is open (no savepoint, no commit),
        so the item, its fingerprints and its alerts are written together or not at all;
        opens and commits its own only when called outside any transaction.
        """
        if not result.pending:
            return
        seen = int(now)
        rows = [
            (item_id, sk.kind, seen, sk.exact, sk.shingles, sk.minhash, *sk.bands)
            for sk in result.pending
        ]
        if self.db.conn.in_transaction:
            # the caller's transaction: its rollback undoes these rows too
            self.db.conn.executemany(_INSERT, rows)
        else:
            with self.db.atomic():
                self.db.conn.executemany(_INSERT, rows)

    def prune(self, now: float, retention_seconds: float, *, batch: int = 5000) -> int:
        """Delete fingerprints first seen more than `retention_seconds` ago; return how many.

        In batches, each its own short transaction, so a large backlog never holds the
        write lock for long. Deleting an item (feed removed, item retention) deletes its
        fingerprints too (ON DELETE CASCADE), so no fingerprint ever points at nothing.
        """
        cutoff = now - retention_seconds
        total = 0
        while True:
            with self.db.atomic():
                cursor = self.db.execute(
                    "DELETE FROM dedup_fingerprints WHERE id IN (SELECT id FROM"
                    " dedup_fingerprints WHERE first_seen < ? ORDER BY first_seen LIMIT ?)",
                    (cutoff, batch),
                )
            deleted = cursor.rowcount
            total += deleted
            if deleted < batch:
                break
        if total:
            log.info("dedup: pruned %d fingerprints first seen before %.0f", total, cutoff)
        return total

    def count(self, kind: int | None = None) -> int:
        """How many fingerprints are stored (of one kind, if given)."""
        if kind is None:
            row = self.db.execute("SELECT count(*) FROM dedup_fingerprints").fetchone()
        else:
            row = self.db.execute(
                "SELECT count(*) FROM dedup_fingerprints WHERE kind = ?", (kind,)
            ).fetchone()
        return int(row[0])


def _int_list(values: Iterable[int]) -> str:
    """Integers as a JSON array, for json_each: str.join is several times faster than
    json.dumps, and an int's str is its JSON."""
    return "[" + ",".join(map(str, sorted(values))) + "]"


def _share_band(a: Sketch, b: Sketch) -> bool:
    return any(x is not None and x == y for x, y in zip(a.bands, b.bands, strict=True))


def _better(new: Match, old: Match | None) -> bool:
    """Prefer another item's fingerprint over the item's own, exact over near, closer,
    then earlier."""
    if old is None:
        return True
    return (not new.own, new.how == "exact", new.similarity, -new.first_seen) > (
        not old.own,
        old.how == "exact",
        old.similarity,
        -old.first_seen,
    )
