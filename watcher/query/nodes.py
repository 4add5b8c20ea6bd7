"""The query tree and how each node is evaluated against a `Document`.

Every node answers `test(doc)` (does it match? as cheaply as possible, short-circuiting)
and `explain(doc, out)` (which leaf occurrences made it match). Positional nodes — terms,
phrases, prefixes, `@group`, `/regex/`, NEAR, and an OR of positional nodes — also list
their `occurrences`: (segment number, first token, last token, leaf hits), which is what
NEAR combines.

NEAR distance: the number of word positions from the end of one side to the start of the
other, in either order, within one segment (title or one paragraph). For two single words
it is the difference of their positions, so `a NEAR/1 b` means adjacent and
`a NEAR/3 b` allows two words between them. The two sides may not share a word; when
one side lies inside the span of the other (`(putin NEAR zelenskyy) NEAR meeting` on
"Putin wants a meeting with Zelenskyy") the distance is 0.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from watcher.query.document import Document

#: (label as written in the query, segment number, first token, last token)
LeafHit = tuple[str, int, int, int]
#: (segment number, first token, last token, the leaf hits that make it up)
Occurrence = tuple[int, int, int, tuple[LeafHit, ...]]


class Node:
    """Base of the query tree."""

    positional = False

    def test(self, doc: Document) -> bool:
        raise NotImplementedError

    def occurrences(self, doc: Document) -> list[Occurrence]:
        raise TypeError(f"{type(self).__name__} has no word positions")

    def explain(self, doc: Document, out: list[LeafHit]) -> None:
        """Append the leaf hits that make this node match (nothing under a NOT)."""
        for occurrence in self.occurrences(doc):
            out.extend(occurrence[3])

    def with_scope(self, scope: str) -> Node:
        """This node with `scope` applied to every leaf that has none of its own."""
        raise NotImplementedError

    def leaves(self) -> Iterator[Node]:
        yield self


@dataclass(frozen=True, slots=True)
class Pattern(Node):
    """A word, a prefix (`negotiat*`) or a phrase: a run of tokens, each either exact or a
    prefix, that must follow each other within one segment."""

    parts: tuple[tuple[str, bool], ...]  # (normalized token, is a prefix)
    label: str
    scope: str | None = None

    positional = True

    def test(self, doc: Document) -> bool:
        scope = self.scope or "text"
        if len(self.parts) == 1:
            token, is_prefix = self.parts[0]
            return doc.has_prefix(scope, token) if is_prefix else token in doc.vocab(scope)
        vocab = doc.vocab(scope)
        if any(not p and t not in vocab for t, p in self.parts):
            return False
        return bool(self._find(doc, first_only=True))

    def occurrences(self, doc: Document) -> list[Occurrence]:
        return self._find(doc, first_only=False)

    def _find(self, doc: Document, first_only: bool) -> list[Occurrence]:
        scope = self.scope or "text"
        token, is_prefix = self.parts[0]
        if is_prefix:
            starts = sorted(
                p for t in doc.with_prefix(scope, token) for p in doc.positions(t, scope)
            )
        else:
            starts = doc.positions(token, scope)
        n = len(self.parts)
        rest = self.parts[1:]
        out: list[Occurrence] = []
        for segment, position in starts:
            tokens = doc.segments[segment].tokens
            if position + n > len(tokens):
                continue
            for k, (part, prefix) in enumerate(rest, position + 1):
                have = tokens[k]
                if not (have.startswith(part) if prefix else have == part):
                    break
            else:
                last = position + n - 1
                out.append((segment, position, last, ((self.label, segment, position, last),)))
                if first_only:
                    break
        return out

    def with_scope(self, scope: str) -> Node:
        if self.scope is not None:
            return self
        return replace(self, scope=scope, label=f"{scope}:{self.label}")

    def __str__(self) -> str:
        words = " ".join(t + ("*" if p else "") for t, p in self.parts)
        text = words if len(self.parts) == 1 else f'"{words}"'
        return f"{self.scope}:{text}" if self.scope else text


@dataclass(frozen=True, slots=True)
class Alias(Node):
    """`@group`: any of the group's spellings (each a word, phrase or prefix)."""

    name: str
    alternatives: tuple[Pattern, ...]
    label: str
    scope: str | None = None
    _words: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rest: tuple[Node, ...] = field(default=(), init=False, repr=False, compare=False)

    positional = True

    def __post_init__(self) -> None:
        _split_words(self, self.alternatives, self.scope)

    def test(self, doc: Document) -> bool:
        if self._words and not self._words.isdisjoint(doc.vocab(self.scope or "text")):
            return True
        return any(alternative.test(doc) for alternative in self._rest)

    def occurrences(self, doc: Document) -> list[Occurrence]:
        out: list[Occurrence] = []
        for alternative in self.alternatives:
            out.extend(alternative.occurrences(doc))
        return out

    def with_scope(self, scope: str) -> Node:
        if self.scope is not None:
            return self
        label = f"{scope}:{self.label}"
        alternatives = tuple(
            replace(a, scope=scope, label=label) if a.scope is None else a
            for a in self.alternatives
        )
        return replace(self, scope=scope, label=label, alternatives=alternatives)

    def __str__(self) -> str:
        return f"{self.scope}:@{self.name}" if self.scope else f"@{self.name}"


@dataclass(frozen=True, slots=True)
class Regex(Node):
    """`/pattern/`, searched in the normal form of each segment in scope (lower case, no
    diacritics, words separated by single spaces). Only non-empty matches count."""

    source: str
    compiled: re.Pattern[str]
    label: str
    scope: str | None = None
    literal: str = ""  # text every match contains (see required_literal): a cheap pre-check

    positional = True

    def test(self, doc: Document) -> bool:
        scope = self.scope or "text"
        if self.literal and self.literal not in doc.normal_text(scope):
            return False
        for number in doc.in_scope(scope):
            text = doc.segments[number].normal
            m = self.compiled.search(text)
            if m is None:
                continue
            if m.end() > m.start() or any(
                m.end() > m.start() for m in self.compiled.finditer(text)
            ):
                return True
        return False

    def occurrences(self, doc: Document) -> list[Occurrence]:
        out: list[Occurrence] = []
        scope = self.scope or "text"
        if self.literal and self.literal not in doc.normal_text(scope):
            return out
        for number in doc.in_scope(scope):
            segment = doc.segments[number]
            starts = segment.token_starts()
            for m in self.compiled.finditer(segment.normal):
                if m.end() == m.start():
                    continue
                first = bisect_right(starts, m.start()) - 1
                last = bisect_right(starts, m.end() - 1) - 1
                out.append((number, first, last, ((self.label, number, first, last),)))
        return out

    def with_scope(self, scope: str) -> Node:
        if self.scope is not None:
            return self
        return replace(self, scope=scope, label=f"{scope}:{self.label}")

    def __str__(self) -> str:
        text = "/" + self.source.replace("/", "\\/") + "/"
        return f"{self.scope}:{text}" if self.scope else text


def required_literal(pattern: str, min_length: int = 3) -> str:
    """The longest run of plain ASCII characters every match of `pattern` must contain,
    lower-cased ("" when none can be found safely).

    Conservative: gives up on a top-level `|` or inline flags, skips groups and classes,
    and drops a character made optional by `?`, `*` or `{`. Matching is case-insensitive
    on text that is already case-folded, so the lower-cased run must occur in the text.
    Runs shorter than `min_length` are not worth a check."""
    if pattern.startswith("(?") or _top_level_bar(pattern):
        return ""
    runs, current, i = [], "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isascii() and not nxt.isalnum():
                current += nxt
            else:
                runs.append(current)
                current = ""
            i += 2
            continue
        if c in "([":
            runs.append(current)
            current = ""
            i = _skip_group(pattern, i)
            continue
        if c in "*?{":
            current = current[:-1]
        if c in "*?{+.^$)]}" or not c.isascii():
            runs.append(current)
            current = ""
            if c == "{":
                close = pattern.find("}", i)
                i = close if close > 0 else i
        else:
            current += c
        i += 1
    runs.append(current)
    best = max(runs, key=len)
    return best.lower() if len(best) >= min_length else ""


def _top_level_bar(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "([":
            i = _skip_group(pattern, i)
            continue
        if c == "|":
            return True
        i += 1
    return False


def _skip_group(pattern: str, i: int) -> int:
    """Index just past the group or class opening at `i` (nested groups, escapes and
    classes inside are skipped too)."""
    if pattern[i] == "[":
        j = i + 1
        if j < len(pattern) and pattern[j] == "^":
            j += 1
        if j < len(pattern) and pattern[j] == "]":
            j += 1
        while j < len(pattern) and pattern[j] != "]":
            j += 2 if pattern[j] == "\\" else 1
        return j + 1
    depth, j = 0, i
    while j < len(pattern):
        c = pattern[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = _skip_group(pattern, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


@dataclass(frozen=True, slots=True)
class Near(Node):
    """Both sides within `distance` words of each other, in either order, in one segment."""

    left: Node
    right: Node
    distance: int

    positional = True

    def test(self, doc: Document) -> bool:
        if not (self.left.test(doc) and self.right.test(doc)):
            return False
        return bool(self._pairs(doc, first_only=True))

    def occurrences(self, doc: Document) -> list[Occurrence]:
        if not (self.left.test(doc) and self.right.test(doc)):
            return []
        return self._pairs(doc, first_only=False)

    def _pairs(self, doc: Document, first_only: bool) -> list[Occurrence]:
        by_segment: dict[int, list[Occurrence]] = {}
        for occurrence in self.right.occurrences(doc):
            by_segment.setdefault(occurrence[0], []).append(occurrence)
        out: list[Occurrence] = []
        distance = self.distance
        for segment, l_first, l_last, l_hits in self.left.occurrences(doc):
            for _, r_first, r_last, r_hits in by_segment.get(segment, ()):
                if l_last < r_first:
                    gap = r_first - l_last
                elif r_last < l_first:
                    gap = l_first - r_last
                elif _share_words(l_hits, r_hits):
                    continue  # the same words cannot stand for both sides
                else:
                    gap = 0  # interleaved: `meet*` between the two names of a NEAR pair
                if gap <= distance:
                    first, last = min(l_first, r_first), max(l_last, r_last)
                    out.append((segment, first, last, l_hits + r_hits))
                    if first_only:
                        return out
        return out

    def with_scope(self, scope: str) -> Node:
        return replace(self, left=self.left.with_scope(scope), right=self.right.with_scope(scope))

    def leaves(self) -> Iterator[Node]:
        yield from self.left.leaves()
        yield from self.right.leaves()

    def __str__(self) -> str:
        return f"({self.left} NEAR/{self.distance} {self.right})"


def _share_words(left: tuple[LeafHit, ...], right: tuple[LeafHit, ...]) -> bool:
    """Whether two sides' leaf hits (same segment) cover a common token position."""
    return any(a[2] <= b[3] and b[2] <= a[3] for a in left for b in right)


def _split_words(node: Node, children: tuple[Node, ...], scope: str | None) -> None:
    """Set `node._words` to the single exact words among `children` that share `scope`
    and `node._rest` to the other children, so that AND/OR/@group test the words with
    one set operation instead of one call each: most topic terms are plain words."""
    words, rest = [], []
    for child in children:
        single = isinstance(child, Pattern) and len(child.parts) == 1 and not child.parts[0][1]
        if single and child.scope == scope:  # type: ignore[union-attr]
            words.append(child.parts[0][0])  # type: ignore[union-attr]
        else:
            rest.append(child)
    object.__setattr__(node, "_words", frozenset(words))
    object.__setattr__(node, "_rest", tuple(rest))


@dataclass(frozen=True, slots=True)
class And(Node):
    children: tuple[Node, ...]
    _words: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rest: tuple[Node, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _split_words(self, self.children, None)

    def test(self, doc: Document) -> bool:
        if self._words and not self._words <= doc.vocab("text"):
            return False
        return all(child.test(doc) for child in self._rest)

    def explain(self, doc: Document, out: list[LeafHit]) -> None:
        for child in self.children:
            child.explain(doc, out)

    def with_scope(self, scope: str) -> Node:
        return And(tuple(child.with_scope(scope) for child in self.children))

    def leaves(self) -> Iterator[Node]:
        for child in self.children:
            yield from child.leaves()

    def __str__(self) -> str:
        return "(" + " AND ".join(str(c) for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Or(Node):
    """Any child. An OR of positional nodes is positional, so `(a OR b) NEAR c` works."""

    children: tuple[Node, ...]
    _words: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rest: tuple[Node, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _split_words(self, self.children, None)

    @property
    def positional(self) -> bool:  # type: ignore[override]
        return all(child.positional for child in self.children)

    def test(self, doc: Document) -> bool:
        if self._words and not self._words.isdisjoint(doc.vocab("text")):
            return True
        return any(child.test(doc) for child in self._rest)

    def occurrences(self, doc: Document) -> list[Occurrence]:
        out: list[Occurrence] = []
        for child in self.children:
            out.extend(child.occurrences(doc))
        return out

    def explain(self, doc: Document, out: list[LeafHit]) -> None:
        for child in self.children:
            if child.test(doc):
                child.explain(doc, out)

    def with_scope(self, scope: str) -> Node:
        return Or(tuple(child.with_scope(scope) for child in self.children))

    def leaves(self) -> Iterator[Node]:
        for child in self.children:
            yield from child.leaves()

    def __str__(self) -> str:
        return "(" + " OR ".join(str(c) for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Not(Node):
    child: Node

    def test(self, doc: Document) -> bool:
        return not self.child.test(doc)

    def explain(self, doc: Document, out: list[LeafHit]) -> None:
        """A NOT contributes no terms: its words are, by definition, absent."""

    def with_scope(self, scope: str) -> Node:
        return Not(self.child.with_scope(scope))

    def leaves(self) -> Iterator[Node]:
        yield from self.child.leaves()

    def __str__(self) -> str:
        return f"NOT {self.child}"
