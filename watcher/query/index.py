"""Evaluate thousands of topics per item without trying each one.

Each query gets a set of *anchors*: tokens (or token prefixes) such that the query cannot
match an item that contains none of them. `istanbul AND (talks OR negotiat*)` is anchored
on {istanbul}; `(a OR b) AND c` on whichever of {a, b} and {c} looks rarer; a top-level
`NOT`, a bare `/regex/` or an OR with such a branch cannot be anchored and is evaluated
for every item. `TopicIndex` maps anchors to topics, so an item is only evaluated against
the topics one of whose anchors it contains: the cost per item follows the item's
vocabulary and the topics that could match, not the number of topics.

Anchors ignore field scopes (an item's tokens from every field are checked), which keeps
them a safe over-approximation: the index may propose a topic that then fails, never
skip one that would match.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from watcher.query.document import Document
from watcher.query.nodes import Alias, And, Near, Node, Not, Or, Pattern, Regex

if TYPE_CHECKING:
    from watcher.query.explain import Match
    from watcher.query.query import Query

#: (is a prefix, normalized token)
Anchor = tuple[bool, str]

# Frequent words make poor anchors; used only to prefer another child of an AND.
_COMMON = frozenset(
    """a an and are as at be by for from has have he in is it its of on or said says that
    the their they this to was were will with""".split()
)


def required_anchors(node: Node) -> frozenset[Anchor] | None:
    """Anchors of `node` (one must occur in a matching item), or None if it has none."""
    if isinstance(node, Pattern):
        return frozenset({min(((p, t) for t, p in node.parts), key=_cost)})
    if isinstance(node, Alias):
        # One anchor per spelling, reusing a token another spelling already gave
        # ("vladimir putin" is anchored on "putin" when "putin" is a spelling too).
        chosen: set[Anchor] = set()
        for alternative in sorted(node.alternatives, key=lambda a: len(a.parts)):
            options = [(p, t) for t, p in alternative.parts]
            shared = [o for o in options if o in chosen]
            chosen.add(shared[0] if shared else min(options, key=_cost))
        return frozenset(chosen)
    if isinstance(node, Or):
        return _union([required_anchors(c) for c in node.children])
    if isinstance(node, And):
        return _cheapest([required_anchors(c) for c in node.children])
    if isinstance(node, Near):
        return _cheapest([required_anchors(node.left), required_anchors(node.right)])
    if isinstance(node, (Not, Regex)):
        return None
    raise TypeError(f"unknown node {node!r}")


def _cost(anchor: Anchor) -> float:
    is_prefix, token = anchor
    if is_prefix:
        return 3 + 6 / len(token)
    return 1 + (8 if token in _COMMON else 0) + 2 / len(token)


def _union(sets: list[frozenset[Anchor] | None]) -> frozenset[Anchor] | None:
    if any(s is None for s in sets):
        return None
    return frozenset().union(*sets)  # type: ignore[arg-type]


def _cheapest(sets: list[frozenset[Anchor] | None]) -> frozenset[Anchor] | None:
    usable = [s for s in sets if s is not None]
    if not usable:
        return None
    return min(usable, key=lambda s: sum(_cost(a) for a in s))


class TopicIndex:
    """Named queries indexed by their anchors; `match(doc)` returns the topics that
    match, in the order they were given, each with its explanation."""

    def __init__(self, topics: Iterable[tuple[str, Query]]):
        self.topics: list[tuple[str, Query]] = list(topics)
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[int, dict[str, list[int]]] = {}
        self.always: list[int] = []
        for number, (_, query) in enumerate(self.topics):
            if query.anchors is None:
                self.always.append(number)
                continue
            for is_prefix, token in query.anchors:
                table = self._prefix.setdefault(len(token), {}) if is_prefix else self._exact
                table.setdefault(token, []).append(number)
        self._exact_keys = frozenset(self._exact)
        self._prefix_keys = {n: frozenset(table) for n, table in self._prefix.items()}

    def __len__(self) -> int:
        return len(self.topics)

    def candidates(self, doc: Document) -> list[int]:
        """Numbers of the topics that could match `doc` (always a superset of those that
        do), in topic order."""
        tokens = doc.all_tokens()
        found = set(self.always)
        exact = self._exact
        for token in tokens & self._exact_keys:
            found.update(exact[token])
        for length, keys in self._prefix_keys.items():
            table = self._prefix[length]
            for stem in {t[:length] for t in tokens} & keys:
                found.update(table[stem])
        return sorted(found)

    def match(self, doc: Document) -> list[tuple[str, Match]]:
        """(topic name, match) for every topic that matches `doc`, in topic order."""
        out = []
        for number in self.candidates(doc):
            name, query = self.topics[number]
            if query.node.test(doc):
                found = query.match(doc)
                if found is not None:
                    out.append((name, found))
        return out
