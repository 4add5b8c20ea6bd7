"""Topic queries: parse them, match them against items, explain each match.

    q = parse_query('istanbul AND (talks OR negotiat*)', aliases)   # QuerySyntaxError
    doc = Document.from_item(item, feed_name, feed_url)   # prepare an item once
    m = q.match(doc)                                        # Match | None
    index = TopicIndex([(name, q), ...]); index.match(doc)  # many topics at once

Syntax (operators upper-case; NEAR binds tightest, then NOT, then AND, then OR):

    istanbul talks          both words (implicit AND)       a AND b, a OR b, NOT a, -a, ( )
    "prisoner swap"         phrase, within one paragraph    "negotiat* talks" (prefix inside)
    negotiat*               prefix                          встреч* (any script)
    a NEAR/5 b              within 5 words, either order    NEAR alone = NEAR/10
    title:kremlin           field scope: title body feed author category link; also
                            title:"a b", title:(a OR b), title:@group, title:/re/
    /zelensk(y|iy)/         regex on the normal form (lower case, no diacritics,
                            words separated by single spaces), per paragraph
    @zelenskyy              any spelling of the alias group (its name included);
                            a spelling may be several words or end in *

Matching is on the normal form of watcher.text (Türkiye = turkiye, "Putin–Zelenskyy" is
two words). Unscoped terms look at the title and the body paragraphs. NEAR distance is
the difference of word positions (1 = adjacent) between the nearest ends of the two
sides, in one title or paragraph. Pure code, no I/O.
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
