"""Topic queries: parse them, match them against items, explain each match.

    q = parse_query('istanbul AND (talks OR negotiat*)', aliases)
    doc = Document.from_item(item, feed_name, feed_url)   # prepare an item once
    m = q.match(doc)                                        # Match | None
    index = TopicIndex([(name, q), ...]); index.match(doc)  # many topics at once

Pure code, no I/O. See DESIGN.md "Topic queries (contract)" for the syntax.
"""

from watcher.query.document import Document, Segment
from watcher.query.explain import Hit, Match, Snippet
from watcher.query.index import TopicIndex
from watcher.query.lexer import DEFAULT_NEAR, FIELDS, QuerySyntaxError
from watcher.query.query import Query, parse_query

__all__ = [
    "DEFAULT_NEAR",
    "FIELDS",
    "Document",
    "Hit",
    "Match",
    "Query",
    "QuerySyntaxError",
    "Segment",
    "Snippet",
    "TopicIndex",
    "parse_query",
]
