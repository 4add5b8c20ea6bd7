"""Evaluate thousands of topics per item without trying each one.

Each query gets a set of *anchors*: tokens (or token prefixes) such that the query cannot
match an item that contains none of them. `istanbul AND (talks OR negotiat*)` is anchored
on {istanbul}; `(a OR b) AND c` on whichever of {a, b} and {c} is rarer; a top-level
`NOT`, a bare `/regex/` or an OR with such a branch cannot be anchored and is evaluated
for every item. `TopicIndex` maps anchors to topics, so an item is only evaluated against
the topics one of whose anchors it contains: the cost per item follows the item's
vocabulary and the topics that could match, not the number of topics.

Which anchor is "rarer" is first guessed (longer words, not a frequent function word,
exact words before prefixes); the index then counts, for every word or prefix a topic
could be anchored on, how many items contain it, and re-chooses anchors from those
counts now and then ("trump" is a poor anchor in 2025 news, "tusk" a good one). Any
choice is correct — anchors only decide which topics are tried — so re-anchoring
changes speed, never results.

Anchors ignore field scopes (an item's tokens from every field are checked), which keeps
them a safe over-approximation: the index may propose a topic that then fails, never
skip one that would match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from watcher.query.document import Document
from watcher.query.nodes import Alias, And, Near, Node, Not, Or, Pattern, Regex

if TYPE_CHECKING:
    from watcher.query.explain import Match
    from watcher.query.query import Query

#: (is a prefix, normalized token)
Anchor = tuple[bool, str]
Cost = Callable[[Anchor], float]

# Frequent words make poor anchors; the static guess avoids them until counts exist.
_COMMON = frozenset(
    """a about after all also an and are as at be been but by can could for from had has
    have he her his how i if in into is it its more new no not now of on one or our out
    over said says she so some than that the their them there they this to two up us was
    we were what when which who will with would year years you
    aby ale bez by czy dla do gdy i jak jego jest ich juz ma na nie o od po pod przez sie
    ta tak to tylko w we z za ze
    au aux avec ce dans de des du en est et il la le les mais par pas pour que qui sur un une
    das dem den der des die ein eine es im ist mit nicht sich und von zu
    и в во на не что с со как по из за от для это он она они""".split()
)
_RETUNE_AT = (200, 1000, 5000)
_RETUNE_EVERY = 20000
_SAMPLE_ALL = 1000
_SAMPLE_EVERY = 8
_HEAD = 3  # prefixes are bucketed by this many leading characters


def static_cost(anchor: Anchor) -> float:
    """A guess of how often an anchor occurs, from its shape alone."""
    is_prefix, token = anchor
    if is_prefix:
        return 3 + 6 / len(token)
    return 1 + (8 if token in _COMMON else 0) + 2 / len(token)


def required_anchors(node: Node, cost: Cost = static_cost) -> frozenset[Anchor] | None:
    """Anchors of `node` (one must occur in a matching item), or None if it has none;
    where there is a choice, the set with the lowest total `cost` is taken."""
    if isinstance(node, Pattern):
        return frozenset({min(((p, t) for t, p in node.parts), key=cost)})
    if isinstance(node, Alias):
        # One anchor per spelling, reusing a token another spelling already gave
        # ("vladimir putin" is anchored on "putin" when "putin" is a spelling too).
        chosen: set[Anchor] = set()
        for alternative in sorted(node.alternatives, key=lambda a: len(a.parts)):
            options = [(p, t) for t, p in alternative.parts]
            shared = [o for o in options if o in chosen]
            chosen.add(shared[0] if shared else min(options, key=cost))
        return frozenset(chosen)
    if isinstance(node, Or):
        return _union([required_anchors(c, cost) for c in node.children])
    if isinstance(node, And):
        return _cheapest([required_anchors(c, cost) for c in node.children], cost)
    if isinstance(node, Near):
        sides = [required_anchors(node.left, cost), required_anchors(node.right, cost)]
        return _cheapest(sides, cost)
    if isinstance(node, (Not, Regex)):
        return None
    raise TypeError(f"unknown node {node!r}")


def anchor_candidates(node: Node) -> set[Anchor]:
    """Every token or prefix `node` could be anchored on (what the index counts)."""
    out: set[Anchor] = set()
    for leaf in node.leaves():
        patterns = leaf.alternatives if isinstance(leaf, Alias) else (leaf,)
        for pattern in patterns:
            if isinstance(pattern, Pattern):
                out.update((p, t) for t, p in pattern.parts)
    return out


def _union(sets: list[frozenset[Anchor] | None]) -> frozenset[Anchor] | None:
    if any(s is None for s in sets):
        return None
    return frozenset().union(*sets)  # type: ignore[arg-type]


def _cheapest(sets: list[frozenset[Anchor] | None], cost: Cost) -> frozenset[Anchor] | None:
    usable = [s for s in sets if s is not None]
    if not usable:
        return None
    return min(usable, key=lambda s: sum(cost(a) for a in s))


class TopicIndex:
    """Named queries indexed by their anchors; `match(doc)` returns the topics that
    match, in the order they were given, each with its explanation.

    `adaptive=False` keeps the static anchors (`Query.anchors`) for good."""

    def __init__(self, topics: Iterable[tuple[str, Query]], adaptive: bool = True):
        self.topics: list[tuple[str, Query]] = list(topics)
        self.adaptive = adaptive
        self.seen = 0  # items looked at
        self.sampled = 0  # items whose watched anchors were counted
        self.counts: Counter[Anchor] = Counter()  # items containing each watched anchor
        watched: set[Anchor] = set()
        if adaptive:
            for _, query in self.topics:
                watched |= anchor_candidates(query.node)
        self._watch_exact = frozenset(t for p, t in watched if not p)
        self._watch_prefix = frozenset(t for p, t in watched if p)
        self._build([query.anchors for _, query in self.topics])

    def _build(self, anchors: list[frozenset[Anchor] | None]) -> None:
        self.anchors = anchors
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self.always: list[int] = []
        for number, chosen in enumerate(anchors):
            if chosen is None:
                self.always.append(number)
                continue
            for is_prefix, token in chosen:
                (self._prefix if is_prefix else self._exact).setdefault(token, []).append(number)
        self._exact_keys = frozenset(self._exact)
        self._anchor_prefixes = _PrefixSet(self._prefix)
        self._all_prefixes = _PrefixSet(set(self._prefix) | self._watch_prefix)

    def __len__(self) -> int:
        return len(self.topics)

    def candidates(self, doc: Document) -> list[int]:
        """Numbers of the topics that could match `doc` (always a superset of those that
        do), in topic order. Also counts the watched anchors `doc` contains (every item
        at first, then one in _SAMPLE_EVERY: enough to rank words by frequency)."""
        tokens = doc.all_tokens()
        found = set(self.always)
        exact = self._exact
        for token in tokens & self._exact_keys:
            found.update(exact[token])
        counting = False
        if self.adaptive:
            self.seen += 1
            if self.seen <= _SAMPLE_ALL or self.seen % _SAMPLE_EVERY == 0:
                counting = True
                self.sampled += 1
                self.counts.update((False, t) for t in tokens & self._watch_exact)
        prefixes = (self._all_prefixes if counting else self._anchor_prefixes).present(doc)
        table = self._prefix
        for prefix in prefixes:
            topics = table.get(prefix)
            if topics:
                found.update(topics)
        if counting:
            self.counts.update((True, p) for p in prefixes if p in self._watch_prefix)
        if self.adaptive and (self.seen in _RETUNE_AT or self.seen % _RETUNE_EVERY == 0):
            self.retune()
        return sorted(found)

    def retune(self) -> None:
        """Re-choose every topic's anchors from how many items held each candidate."""
        sampled, counts = self.sampled + 2, self.counts

        def cost(anchor: Anchor) -> float:
            # Estimated share of items containing it; the static guess breaks ties.
            return (counts[anchor] + 1) / sampled + static_cost(anchor) * 1e-6

        self._build([required_anchors(query.node, cost) for _, query in self.topics])

    def match(self, doc: Document) -> list[tuple[str, Match]]:
        """(topic name, match) for every topic that matches `doc`, in topic order."""
        out = []
        for number in self.candidates(doc):
            name, query = self.topics[number]
            found = query.match(doc)
            if found is not None:
                out.append((name, found))
        return out


class _PrefixSet:
    """A set of prefixes, asked which of them start a word of a document.

    Prefixes are bucketed by their first _HEAD characters: one set operation over the
    document's word heads finds the buckets worth looking at, and a binary search in the
    document's sorted vocabulary settles each prefix in them. Shorter prefixes (rare)
    are checked per length."""

    def __init__(self, prefixes: Iterable[str]):
        self.buckets: dict[str, list[str]] = {}
        self.short: dict[int, set[str]] = {}
        for prefix in prefixes:
            if len(prefix) >= _HEAD:
                self.buckets.setdefault(prefix[:_HEAD], []).append(prefix)
            else:
                self.short.setdefault(len(prefix), set()).add(prefix)
        self.heads = frozenset(self.buckets)

    def present(self, doc: Document) -> list[str]:
        if not self.buckets and not self.short:
            return []
        tokens = doc.all_tokens()
        out: list[str] = []
        if self.buckets:
            for head in {t[:_HEAD] for t in tokens} & self.heads:
                for prefix in self.buckets[head]:
                    if len(prefix) == _HEAD or doc.has_prefix("all", prefix):
                        out.append(prefix)
        for length, prefixes in self.short.items():
            out.extend({t[:length] for t in tokens} & prefixes)
        return out
