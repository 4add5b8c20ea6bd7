"""`Query`: a parsed topic query, ready to test or explain against documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from watcher.model import Item
from watcher.query.document import Document
from watcher.query.explain import Match, build_match
from watcher.query.index import Anchor, required_anchors
from watcher.query.nodes import LeafHit, Node
from watcher.query.parser import parse


class Query:
    """A topic query. `source` is the text as written; `node` the parsed tree;
    `anchors` the tokens/prefixes one of which every matching item must contain (None
    when the query cannot be anchored, e.g. a top-level NOT or a bare /regex/)."""

    __slots__ = ("anchors", "node", "source")

    def __init__(self, source: str, node: Node):
        self.source = source
        self.node = node
        self.anchors: frozenset[Anchor] | None = required_anchors(node)

    def matches(self, doc: Document) -> bool:
        """Whether the query matches, without building an explanation (the fast path)."""
        return self.node.test(doc)

    def match(self, doc: Document | Item) -> Match | None:
        """The explained match of this query on `doc`, or None."""
        if isinstance(doc, Item):
            doc = Document.from_item(doc)
        if not self.node.test(doc):
            return None
        hits: list[LeafHit] = []
        self.node.explain(doc, hits)
        return build_match(doc, hits)

    def __str__(self) -> str:
        """The query in canonical form: fully parenthesized, terms normalized."""
        return str(self.node)

    def __repr__(self) -> str:
        return f"Query({self.source!r})"

    def __eq__(self, other: object) -> bool:
        """Queries are equal when they mean the same (same canonical form), however written."""
        return isinstance(other, Query) and str(self.node) == str(other.node)

    def __hash__(self) -> int:
        return hash(str(self.node))


def parse_query(text: str, aliases: Mapping[str, Sequence[str]] | None = None) -> Query:
    """Parse a topic query; raises QuerySyntaxError (with `.column`, `.message`) if the
    text is not a query, names an unknown @group, or holds an invalid /regex/."""
    return Query(text, parse(text, aliases or {}))
