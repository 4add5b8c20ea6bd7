"""An item prepared once for matching many queries against it.

A `Document` is a list of segments — the title, each body paragraph, the feed name and
URL, the author, each category, the link — each tokenized once in the normal form of
`watcher.text`. Phrases and NEAR never cross a segment, so a phrase cannot match across
a paragraph boundary. Lookup structures (vocabulary per scope, word positions,
sorted vocabulary for prefixes, character offsets of tokens) are built on first use and kept,
so a document that no query looks at closely costs little more than its tokenization.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.model import Item
from watcher.text import normalize, tokenize

#: Which segment fields a scope covers. An unscoped term uses "text" (title and body).
SCOPES: dict[str, frozenset[str]] = {
    "text": frozenset({"title", "body"}),
    "title": frozenset({"title"}),
    "body": frozenset({"body"}),
    "feed": frozenset({"feed"}),
    "author": frozenset({"author"}),
    "category": frozenset({"category"}),
    "link": frozenset({"link"}),
    "all": frozenset({"title", "body", "feed", "author", "category", "link"}),
}

_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r"\S+")

Span = tuple[int, int]


@dataclass(slots=True)
class Segment:
    """One searchable piece of text: `field` and `index` say where it came from (the
    paragraph index for body, the category index, 0 for title/author/link, 0 for the
    feed name and 1 for the feed URL)."""

    field: str
    index: int
    text: str
    tokens: tuple[str, ...]
    _spans: list[Span] | None = None
    _normal: str | None = None
    _starts: list[int] | None = None

    @property
    def normal(self) -> str:
        """The normal form as one string (what `/regex/` is searched in)."""
        if self._normal is None:
            self._normal = " ".join(self.tokens)
        return self._normal

    def token_starts(self) -> list[int]:
        """Offset in `normal` where each token starts."""
        if self._starts is None:
            starts, offset = [], 0
            for token in self.tokens:
                starts.append(offset)
                offset += len(token) + 1
            self._starts = starts
        return self._starts

    def spans(self) -> list[Span]:
        """Character offsets in the original `text` of each normalized token."""
        if self._spans is None:
            self._spans = token_spans(self.text, self.tokens)
        return self._spans


class Document:
    """The searchable text of one item. Build it once, evaluate every query against it."""

    def __init__(
        self,
        title: str = "",
        paragraphs: Iterable[str] = (),
        feed: str = "",
        author: str = "",
        categories: Iterable[str] = (),
        link: str = "",
        feed_url: str = "",
    ):
        parts: list[tuple[str, int, str]] = [("title", 0, title)]
        parts += [("body", i, p) for i, p in enumerate(paragraphs)]
        parts += [("feed", 0, feed), ("feed", 1, feed_url), ("author", 0, author)]
        parts += [("category", i, c) for i, c in enumerate(categories)]
        parts.append(("link", 0, link))
        self.segments: list[Segment] = []
        for name, index, text in parts:
            if text:
                tokens = tuple(tokenize(text))
                if tokens:
                    self.segments.append(Segment(name, index, text, tokens))
        self._vocab: dict[str, frozenset[str]] = {}
        self._sorted: dict[str, list[str]] = {}
        self._positions: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self._numbers: dict[str, list[int]] = {}
        self._normal: dict[str, str] = {}

    @classmethod
    def from_item(cls, item: Item, feed_name: str = "", feed_url: str = "") -> Document:
        """The document of a parsed item (title, paragraphs, author, categories, link)."""
        return cls(
            title=item.title or "",
            paragraphs=item.paragraphs,
            feed=feed_name,
            author=item.author or "",
            categories=item.categories,
            link=item.link or "",
            feed_url=feed_url,
        )

    def __repr__(self) -> str:
        title = next((s.text for s in self.segments if s.field == "title"), "")
        return f"<Document {title[:60]!r}, {len(self.segments)} segments>"

    # -- lookups, each built on first use -------------------------------------------------

    def all_tokens(self) -> frozenset[str]:
        """Every token of every field: what the topic index checks anchors against."""
        return self.vocab("all")

    def vocab(self, scope: str) -> frozenset[str]:
        """The distinct tokens of the segments in `scope`."""
        found = self._vocab.get(scope)
        if found is None:
            fields = SCOPES[scope]
            found = frozenset().union(*(s.tokens for s in self.segments if s.field in fields))
            self._vocab[scope] = found
        return found

    def with_prefix(self, scope: str, prefix: str) -> list[str]:
        """The distinct tokens in `scope` that start with `prefix`."""
        ordered = self._sorted.get(scope)
        if ordered is None:
            ordered = self._sorted[scope] = sorted(self.vocab(scope))
        out = []
        for i in range(bisect_left(ordered, prefix), len(ordered)):
            token = ordered[i]
            if not token.startswith(prefix):
                break
            out.append(token)
        return out

    def has_prefix(self, scope: str, prefix: str) -> bool:
        ordered = self._sorted.get(scope)
        if ordered is None:
            ordered = self._sorted[scope] = sorted(self.vocab(scope))
        i = bisect_left(ordered, prefix)
        return i < len(ordered) and ordered[i].startswith(prefix)

    def positions(self, token: str, scope: str) -> list[tuple[int, int]]:
        """(segment number, token position) of every occurrence of `token` in `scope`.

        Looked up per token on demand (C-speed `tuple.index` scans) and cached: an item
        is usually asked about a few tokens only, so a full postings table would cost
        more than it saves."""
        key = (scope, token)
        found = self._positions.get(key)
        if found is None:
            found = []
            if token in self.vocab(scope):
                segments = self.segments
                for number in self.in_scope(scope):
                    tokens = segments[number].tokens
                    at = -1
                    try:
                        while True:
                            at = tokens.index(token, at + 1)
                            found.append((number, at))
                    except ValueError:
                        pass
            self._positions[key] = found
        return found

    def in_scope(self, scope: str) -> list[int]:
        """Numbers of the segments a scope covers."""
        found = self._numbers.get(scope)
        if found is None:
            fields = SCOPES[scope]
            found = [i for i, s in enumerate(self.segments) if s.field in fields]
            self._numbers[scope] = found
        return found

    def normal_text(self, scope: str) -> str:
        """The normal form of every segment in scope, one per line (for quick substring
        checks that rule a /regex/ out before running it)."""
        found = self._normal.get(scope)
        if found is None:
            found = self._normal[scope] = "\n".join(
                self.segments[n].normal for n in self.in_scope(scope)
            )
        return found


@dataclass(frozen=True, slots=True)
class _Run:
    """Characters start:end of a chunk, and how many tokens they normalize to."""

    start: int
    end: int
    count: int


def token_spans(text: str, tokens: Sequence[str]) -> list[Span]:
    """Where each normalized token of `text` sits in `text` itself.

    Normalization (NFKC, case and diacritic folding) can change a string's length, so
    offsets cannot be read off the normal form. Usually each run of letters and digits
    of the original is exactly one token, which is checked; otherwise each
    whitespace-separated chunk
    of the original is normalized on its own and its tokens are given the chunk's
    offsets, refined to the letter runs inside it when a chunk holds several words
    ("Putin–Zelenskyy", "Russia’s"). If the pieces do not add up to `tokens` (a
    pathological string), every token gets the whole text rather than a wrong place.
    """
    words = list(_WORD.finditer(text))
    if len(words) == len(tokens) and (
        text.isascii()
        or all(
            m.group().isascii() or normalize(m.group()) == token
            for m, token in zip(words, tokens, strict=True)
        )
    ):
        # The usual case: one word, one token (an ASCII word always is exactly one).
        return [m.span() for m in words]
    spans = []
    for chunk in _CHUNK.finditer(text):
        count = len(normalize(chunk.group()).split())
        if count == 0:
            continue
        runs = _letter_runs(text, chunk.start(), chunk.end())
        if sum(r.count for r in runs) == count:
            for run in runs:
                spans.extend([(run.start, run.end)] * run.count)
        else:
            spans.extend([(chunk.start(), chunk.end())] * count)
    if len(spans) != len(tokens):
        return [(0, len(text))] * len(tokens)
    return spans


def _letter_runs(text: str, start: int, end: int) -> list[_Run]:
    """Maximal runs of characters that survive normalization, with their token count."""
    runs: list[_Run] = []
    run_start = -1
    for i in range(start, end):
        c = text[i]
        keeps = bool(normalize(c)) or (run_start >= 0 and unicodedata.combining(c))
        if keeps and run_start < 0:
            run_start = i
        elif not keeps and run_start >= 0:
            runs.append(_run(text, run_start, i))
            run_start = -1
    if run_start >= 0:
        runs.append(_run(text, run_start, end))
    return runs


def _run(text: str, start: int, end: int) -> _Run:
    return _Run(start, end, len(normalize(text[start:end]).split()))
