"""Why a query matched: the terms, where each was found, and the best snippet.

Matching runs on normalized tokens; what a reader sees comes from the original text.
Each leaf hit (token positions in a segment) is mapped back to character offsets in the
segment's original text, so a snippet keeps its capitals, diacritics and punctuation and
its `spans` can be highlighted by any front end (ANSI in a terminal, `<mark>` in email).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watcher.query.document import Document
from watcher.query.nodes import LeafHit

#: A segment no longer than this is shown whole.
WHOLE_LIMIT = 300
#: Otherwise the snippet is a window of about this many characters around the hits.
SNIPPET_WIDTH = 240
#: Context kept before the first hit of the window, when the text allows.
LEAD = 60
ELLIPSIS = "…"

_TEXT_FIELDS = ("title", "body")


@dataclass(frozen=True, slots=True)
class Hit:
    """One place a query term matched: `field` ("title", "body", "feed", "author",
    "category", "link"), `index` (paragraph or category index, else 0; the feed URL is
    feed index 1), `start:end` the characters in that original text, `text` those
    characters."""

    term: str
    field: str
    index: int
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, object]:
        return {
            "term": self.term,
            "field": self.field,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Snippet:
    """An excerpt of the original text; `spans` are (start, end) offsets in `text` of the
    matched terms, sorted and not overlapping. `text` is the plain rendering."""

    text: str
    spans: tuple[tuple[int, int], ...]
    field: str
    index: int

    def render(self, before: str, after: str, escape: Callable[[str], str] | None = None) -> str:
        """The text with each span wrapped in `before`/`after` (ANSI codes, `<mark>`...);
        `escape` (e.g. `html.escape`) is applied to the text around and inside marks."""
        esc = escape or (lambda s: s)
        out, at = [], 0
        for start, end in self.spans:
            out += [esc(self.text[at:start]), before, esc(self.text[start:end]), after]
            at = end
        out.append(esc(self.text[at:]))
        return "".join(out)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Match:
    """A query matched an item: the terms that matched (as written in the query, in
    query order), every hit, and the best snippet (None only for an empty item)."""

    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    snippet: Snippet | None

    @property
    def plain_snippet(self) -> str:
        """The snippet as plain text, without marks ("" when there is none)."""
        return self.snippet.text if self.snippet else ""

    def to_json(self) -> dict[str, object]:
        """The shape alerts carry: terms, plain snippet, and the hits."""
        return {
            "terms": list(self.terms),
            "snippet": self.plain_snippet,
            "hits": [hit.to_json() for hit in self.hits],
        }


def build_match(doc: Document, leaf_hits: Sequence[LeafHit]) -> Match:
    """Turn the leaf hits of a matching query into terms, hits and a snippet."""
    unique = list(dict.fromkeys(leaf_hits))
    terms = tuple(dict.fromkeys(label for label, *_ in unique))
    hits: list[Hit] = []
    by_segment: dict[int, list[tuple[int, int, str]]] = {}
    for label, number, first, last in unique:
        segment = doc.segments[number]
        spans = segment.spans()
        start, end = spans[first][0], spans[last][1]
        hits.append(Hit(label, segment.field, segment.index, start, end, segment.text[start:end]))
        by_segment.setdefault(number, []).append((start, end, label))
    hits.sort(key=lambda h: (_field_order(h.field), h.index, h.start))
    return Match(terms, tuple(hits), _best_snippet(doc, by_segment))


def _field_order(field: str) -> int:
    order = ("title", "body", "feed", "author", "category", "link")
    return order.index(field) if field in order else len(order)


def _best_snippet(
    doc: Document, by_segment: dict[int, list[tuple[int, int, str]]]
) -> Snippet | None:
    """The title or paragraph with the most distinct matched terms (then the most hits;
    a paragraph over the title, which alerts show anyway; then the earliest)."""
    best, best_key = None, None
    for number, marks in by_segment.items():
        segment = doc.segments[number]
        if segment.field not in _TEXT_FIELDS:
            continue
        key = (len({m[2] for m in marks}), len(marks), segment.field == "body", -number)
        if best_key is None or key > best_key:
            best, best_key = number, key
    if best is None:
        # Matched on metadata only (feed:, author:...) or through NOT: show the lead.
        lead = [i for i, s in enumerate(doc.segments) if s.field == "body"]
        lead += [i for i, s in enumerate(doc.segments) if s.field == "title"]
        if not lead:
            return None
        best = lead[0]
    segment = doc.segments[best]
    text, spans = trim(segment.text, sorted(by_segment.get(best, [])))
    return Snippet(text, spans, segment.field, segment.index)


def trim(text: str, marks: list[tuple[int, int, str]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of `text` holding as many distinct marked terms as fit, cut at word
    boundaries (preferring a sentence start) with an ellipsis where text was cut; the
    marks' spans are shifted into the window and merged."""
    if len(text) <= WHOLE_LIMIT:
        return text, _merge([(s, e) for s, e, _ in marks])
    best_start, best_score = 0, (-1, -1)
    for start, _, _ in marks or [(0, 0, "")]:
        window = max(0, min(start - LEAD, len(text) - SNIPPET_WIDTH))
        inside = [m for m in marks if m[0] >= window and m[1] <= window + SNIPPET_WIDTH]
        score = (len({m[2] for m in inside}), len(inside))
        if score > best_score:
            best_start, best_score = window, score
    ws, we = best_start, min(len(text), best_start + SNIPPET_WIDTH)
    inside = [m for m in marks if m[0] >= ws and m[1] <= we]
    first_mark = inside[0][0] if inside else we
    if ws > 0:
        sentence = text.rfind(". ", ws, first_mark)
        if sentence >= 0:
            ws = sentence + 2
        elif not text[ws - 1].isspace():
            space = text.find(" ", ws, first_mark)
            if space >= 0:
                ws = space + 1
    if we < len(text) and not text[we].isspace():
        last_mark = max((m[1] for m in inside), default=ws)
        space = text.rfind(" ", last_mark, we)
        if space >= 0:
            we = space
    prefix = ELLIPSIS if ws > 0 else ""
    suffix = ELLIPSIS if we < len(text) else ""
    body = text[ws:we]
    shift = len(prefix) - ws
    spans = _merge([(s + shift, e + shift) for s, e, _ in inside])
    return prefix + body + suffix, spans


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)
