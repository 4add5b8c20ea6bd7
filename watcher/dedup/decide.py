"""Which parts of an item are new, and what the item is: pure decisions, no database.

`prepare` turns an Item into per-paragraph facts (words, boilerplate, repeats within the
item, sketches); the store looks each sketch up and hands back a `Match` or None; `decide`
turns those lookups into a `DedupResult`. Keeping the decision pure lets it be tested
(and explained) without SQLite.

Rules (DESIGN.md "Deduplication", with the choices it leaves open):

- Boilerplate lines and repeats within the item (of an earlier paragraph or of the
  title) are dropped: never substantive, never new content, never stored.
- A paragraph is *old* when a stored fingerprint matches it (exactly, or as a verified
  near-duplicate) and *own* when that fingerprint belongs to this same item's earlier
  version; otherwise it is *new*. Only `min_words`+ paragraphs are *substantive*.
- First sighting (not an update):
  - with substantive paragraphs: a *republication* when at least `republish_threshold`
    of them are old in other items; linked to the item holding most of those (earliest
    on a tie). Otherwise *new*: its title (unless seen) and its new paragraphs.
  - without any (headline-only feeds: a title and a one-line summary): the title
    decides. A title near-duplicate of another item's title first seen within
    `title_window_seconds` is a republication of that item; a title never seen makes
    the item new; an old title beyond the window with nothing else new is nothing new.
- Update (same identity, changed text): never a republication. Only paragraphs never
  seen anywhere (its own earlier version included) and a title never seen are new. It is
  an *update* when a new substantive paragraph or a new title appeared, else *nothing
  new* (a typo fix, a reshuffle, a short line such as "Updated 14:05").
- Short new lines (under `min_words`) never make an item new on their own, but when the
  item does alert they are part of its new content. Exception: an item with no title
  and no long paragraph (a short post, as some channels publish) is judged on its short
  lines as if they were substantive, so it is never silently dropped.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from watcher.dedup.boilerplate import boilerplate_reason
from watcher.dedup.fingerprint import (
    KIND_PARAGRAPH,
    KIND_TITLE,
    Sketch,
    is_near_duplicate,
    sketch,
)
from watcher.model import Item
from watcher.text import normalize

TITLE = -1  # `repeat_of` value: the paragraph repeats the item's title


@dataclass(frozen=True)
class DedupSettings:
    """The `dedup:` section of the config, as plain values.

    near_duplicate_threshold: estimated Jaccard similarity of the word-pair sets at which
      two texts are the same paragraph. 0.5 keeps "a word or two changed" (in a paragraph
      of 15+ words), "stated" for "said", quotes and punctuation as duplicates, while
      rewrites of the same facts by another writer stay far below it (typically < 0.2).
    extension_words: an old paragraph with at least this many new word pairs added (a
      sentence appended to a lead) counts as new content, not a near-duplicate.
    title_window_seconds: for items without substantive paragraphs, how recent another
      item's matching title must be to make this one a republication of it.
    """

    min_words: int = 8
    republish_threshold: float = 0.8
    near_duplicate_threshold: float = 0.5
    retention_seconds: float = 30 * 86400.0
    extension_words: int = 16
    title_window_seconds: float = 2 * 86400.0


class Verdict(enum.Enum):
    NEW = "new"  # first sighting with something new: may alert
    UPDATE = "update"  # an edit that added something new: may alert
    REPUBLICATION = "republication"  # copy of another item: no alert, linked to it
    NOTHING_NEW = "nothing_new"  # nothing to alert on

    @property
    def alerts(self) -> bool:
        return self in (Verdict.NEW, Verdict.UPDATE)


class Status(enum.Enum):
    NEW = "new"  # never seen before
    OLD = "old"  # seen before in another item
    OWN = "own"  # seen before in this item's earlier version
    REPEAT = "repeat"  # repeats the title or an earlier paragraph of this item
    BOILERPLATE = "boilerplate"  # a line outlets put on every item


@dataclass(frozen=True, slots=True)
class Match:
    """Where a paragraph or title was first seen, and how closely it matches."""

    fingerprint_id: int
    item_id: int
    first_seen: float
    how: str  # "exact" | "near"
    similarity: float
    own: bool = False  # the fingerprint belongs to the item being assessed

    def to_json(self) -> dict[str, object]:
        return {
            "item_id": self.item_id,
            "first_seen": self.first_seen,
            "how": self.how,
            "similarity": round(self.similarity, 3),
            "own": self.own,
        }


class PreparedText(NamedTuple):
    """One paragraph (or the title) before lookup: what can be known without a database.

    Named tuples (this, PreparedItem, Sketch) because parse workers make them and the
    main process unpickles them by the hundred thousand: tuples are several times faster
    to unpickle than frozen dataclasses.
    """

    index: int  # position in the item; TITLE for the title
    text: str
    words: int
    boilerplate: str | None = None  # why it is boilerplate
    repeat_of: int | None = None  # earlier paragraph index it repeats, or TITLE
    similarity_to_repeated: float = 1.0
    sketch: Sketch | None = None  # None when boilerplate, a repeat, or wordless

    @property
    def needs_lookup(self) -> bool:
        return self.sketch is not None


class PreparedItem(NamedTuple):
    title: PreparedText
    paragraphs: tuple[PreparedText, ...]


def max_novel(settings: DedupSettings) -> float:
    return float(settings.extension_words)


def prepare(item: Item, settings: DedupSettings) -> PreparedItem:
    """Per-paragraph facts of `item`: words, boilerplate, repeats within it, sketches."""
    title_normal = normalize(item.title)
    title_sketch = sketch(item.title, KIND_TITLE, normal=title_normal)
    title = PreparedText(TITLE, item.title, len(title_normal.split()), sketch=title_sketch)
    # the title compared with paragraphs: the same sketch, as a paragraph
    title_as_paragraph = (
        Sketch(KIND_PARAGRAPH, title_sketch.exact, title_sketch.shingles, title_sketch.minhash, ())
        if title_sketch is not None
        else None
    )
    threshold = settings.near_duplicate_threshold
    limit = max_novel(settings)
    seen_normal: dict[str, int] = {title_normal: TITLE} if title_normal else {}
    kept: list[tuple[int, Sketch]] = []  # earlier kept paragraphs, for near repeats
    by_band: dict[tuple[int, int], list[int]] = {}
    out: list[PreparedText] = []
    for index, text in enumerate(item.paragraphs):
        normal = normalize(text)
        tokens = normal.split()
        words = len(tokens)
        reason = boilerplate_reason(text, normal)
        if reason is not None:
            out.append(PreparedText(index, text, words, boilerplate=reason))
            continue
        if normal in seen_normal:
            out.append(PreparedText(index, text, words, repeat_of=seen_normal[normal]))
            continue
        seen_normal[normal] = index
        para = sketch(text, KIND_PARAGRAPH, normal=normal, words=tokens)
        assert para is not None  # a non-empty normal form always has a sketch
        repeat = _near_repeat(para, title_as_paragraph, kept, by_band, threshold, limit)
        if repeat is not None:
            out.append(PreparedText(index, text, words, repeat_of=repeat[0],
                                    similarity_to_repeated=repeat[1]))  # fmt: skip
            continue
        kept.append((index, para))
        for band, key in enumerate(para.bands):
            if key is not None:
                by_band.setdefault((band, key), []).append(len(kept) - 1)
        out.append(PreparedText(index, text, words, sketch=para))
    return PreparedItem(title, tuple(out))


def _near_repeat(
    para: Sketch,
    title: Sketch | None,
    kept: list[tuple[int, Sketch]],
    by_band: dict[tuple[int, int], list[int]],
    threshold: float,
    limit: float,
) -> tuple[int, float] | None:
    """(index, similarity) of an earlier paragraph, or the title, that `para` repeats."""
    if title is not None and para.shingles - title.shingles < limit:
        # (a paragraph with `limit` more word pairs than the title cannot repeat it)
        sim = is_near_duplicate(para, title, threshold, limit)
        if sim is not None:
            return TITLE, sim
    candidates = {
        position
        for band, key in enumerate(para.bands)
        if key is not None
        for position in by_band.get((band, key), ())
    }
    for position in sorted(candidates):
        index, earlier = kept[position]
        sim = is_near_duplicate(para, earlier, threshold, limit)
        if sim is not None:
            return index, sim
    return None


@dataclass(frozen=True, slots=True)
class ParagraphVerdict:
    """The explanation for one paragraph (or the title)."""

    index: int
    text: str
    words: int
    substantive: bool
    status: Status
    boilerplate: str | None = None
    repeat_of: int | None = None
    first_seen: Match | None = None
    repeat_similarity: float | None = None

    @property
    def is_new(self) -> bool:
        return self.status is Status.NEW

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "index": self.index,
            "text": self.text,
            "words": self.words,
            "substantive": self.substantive,
            "boilerplate": self.boilerplate is not None,
            "status": self.status.value,
        }
        if self.boilerplate is not None:
            out["boilerplate_reason"] = self.boilerplate
        if self.repeat_of is not None:
            out["repeat_of"] = "title" if self.repeat_of == TITLE else self.repeat_of
            if self.repeat_similarity is not None:
                out["repeat_similarity"] = round(self.repeat_similarity, 3)
        if self.first_seen is not None:
            out["first_seen"] = self.first_seen.to_json()
        return out


@dataclass(frozen=True)
class DedupResult:
    """What dedup found in one item: the verdict, its new content, and why."""

    verdict: Verdict
    new_paragraphs: list[str]
    title_is_new: bool
    original_item_id: int | None
    title: ParagraphVerdict
    paragraphs: list[ParagraphVerdict]
    substantive: int  # substantive paragraphs (boilerplate and repeats excluded)
    old_substantive: int  # of which seen before in other items
    reason: str
    is_update: bool = False
    # sketches `record` stores: the new title and new paragraphs
    pending: tuple[Sketch, ...] = field(default=(), repr=False)

    @property
    def alerts(self) -> bool:
        """Whether this item may alert (topics still have to match its new content)."""
        return self.verdict.alerts

    @property
    def old_share(self) -> float | None:
        return self.old_substantive / self.substantive if self.substantive else None

    def to_json(self) -> dict[str, object]:
        share = self.old_share
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "is_update": self.is_update,
            "title_is_new": self.title_is_new,
            "original_item_id": self.original_item_id,
            "substantive": self.substantive,
            "old_substantive": self.old_substantive,
            "old_share": round(share, 3) if share is not None else None,
            "new_paragraphs": list(self.new_paragraphs),
            "title": self.title.to_json(),
            "paragraphs": [p.to_json() for p in self.paragraphs],
        }


def _paragraph_status(para: PreparedText, match: Match | None) -> Status:
    if para.boilerplate is not None:
        return Status.BOILERPLATE
    if para.repeat_of is not None:
        return Status.REPEAT
    return _status(match)


def _status(match: Match | None) -> Status:
    if match is None:
        return Status.NEW
    return Status.OWN if match.own else Status.OLD


def decide(
    prepared: PreparedItem,
    title_match: Match | None,
    matches: Sequence[Match | None],
    *,
    is_update: bool,
    now: float,
    settings: DedupSettings,
) -> DedupResult:
    """The verdict for an item from the lookups of its title and paragraphs.

    `matches[i]` is the lookup of `prepared.paragraphs[i]` (None: not seen, or not
    looked up because it is boilerplate or a repeat).
    """
    if len(matches) != len(prepared.paragraphs):
        raise ValueError("one lookup per prepared paragraph is needed")
    content = (Status.NEW, Status.OLD, Status.OWN)
    pairs = list(zip(prepared.paragraphs, matches, strict=True))
    statuses = [_paragraph_status(para, match) for para, match in pairs]
    untitled = prepared.title.sketch is None
    # an item with neither a title nor a long paragraph (a short post): its lines count
    short_post = untitled and not any(
        status in content and para.words >= settings.min_words
        for para, status in zip(prepared.paragraphs, statuses, strict=True)
    )
    verdicts: list[ParagraphVerdict] = []
    for (para, match), status in zip(pairs, statuses, strict=True):
        substantive = status in content and (para.words >= settings.min_words or short_post)
        verdicts.append(
            ParagraphVerdict(para.index, para.text, para.words, substantive, status,
                             para.boilerplate, para.repeat_of,
                             match if status in (Status.OLD, Status.OWN) else None,
                             para.similarity_to_repeated if para.repeat_of is not None else None)
        )  # fmt: skip
    if untitled:
        title = ParagraphVerdict(TITLE, prepared.title.text, 0, False, Status.BOILERPLATE,
                                 boilerplate="no words")  # fmt: skip
        title_status = Status.BOILERPLATE
    else:
        title_status = _status(title_match)
        title = ParagraphVerdict(TITLE, prepared.title.text, prepared.title.words, False,
                                 title_status, first_seen=title_match)  # fmt: skip
    title_is_new = title_status is Status.NEW

    substantive = [v for v in verdicts if v.substantive]
    old_other = [v for v in substantive if v.status is Status.OLD]
    counted = [v for v in substantive if v.status is not Status.OWN]
    new_substantive = [v for v in substantive if v.status is Status.NEW]
    new_lines = [v.text for v in verdicts if v.status is Status.NEW]

    original: int | None = None
    if is_update:
        if new_substantive or title_is_new:
            verdict, reason = Verdict.UPDATE, _update_reason(len(new_substantive), title_is_new)
        else:
            verdict, reason = (
                Verdict.NOTHING_NEW,
                "edit added no new substantive paragraph or title",
            )
    elif counted:
        share = len(old_other) / len(counted)
        if share >= settings.republish_threshold:
            verdict = Verdict.REPUBLICATION
            original = _original(old_other)
            reason = (
                f"{len(old_other)} of {len(counted)} substantive paragraphs seen before "
                f"(≥ {settings.republish_threshold:.0%})"
            )
        elif new_substantive or title_is_new:
            verdict = Verdict.NEW
            reason = f"{len(new_substantive)} of {len(counted)} substantive paragraphs are new"
        else:
            verdict, reason = Verdict.NOTHING_NEW, "no new substantive paragraph and no new title"
    else:
        window_start = now - settings.title_window_seconds
        if (
            title_match is not None
            and not title_match.own
            and title_match.first_seen >= window_start
        ):
            verdict, original = Verdict.REPUBLICATION, title_match.item_id
            reason = "no substantive paragraphs; title seen in another item within the window"
        elif title_is_new:
            verdict, reason = Verdict.NEW, "no substantive paragraphs; the title is new"
        else:
            verdict, reason = Verdict.NOTHING_NEW, "no substantive paragraphs; title seen before"

    pending = [prepared.title.sketch] if title_is_new and prepared.title.sketch else []
    pending += [
        para.sketch
        for para, v in zip(prepared.paragraphs, verdicts, strict=True)
        if v.status is Status.NEW and para.sketch is not None
    ]
    return DedupResult(
        verdict=verdict,
        new_paragraphs=new_lines if verdict.alerts else [],
        title_is_new=title_is_new,
        original_item_id=original,
        title=title,
        paragraphs=verdicts,
        substantive=len(counted),
        old_substantive=len(old_other),
        reason=reason,
        is_update=is_update,
        pending=tuple(pending),
    )


def _update_reason(new_paragraphs: int, title_is_new: bool) -> str:
    parts = []
    if new_paragraphs:
        parts.append(f"{new_paragraphs} new substantive paragraph(s)")
    if title_is_new:
        parts.append("a new title")
    return "edit added " + " and ".join(parts)


def _original(old: list[ParagraphVerdict]) -> int | None:
    """The item holding most of the old paragraphs; the earliest seen on a tie."""
    counts = Counter(v.first_seen.item_id for v in old if v.first_seen is not None)
    if not counts:
        return None
    earliest: dict[int, float] = {}
    for v in old:
        if v.first_seen is not None:
            item = v.first_seen.item_id
            earliest[item] = min(
                earliest.get(item, v.first_seen.first_seen), v.first_seen.first_seen
            )
    return min(counts, key=lambda item: (-counts[item], earliest[item], item))
