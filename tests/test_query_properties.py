"""Property tests: boolean laws, independent oracles for phrase and NEAR, and the index
agreeing with plain evaluation, on random items and random queries."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.query import Document, TopicIndex, parse_query
from watcher.query.nodes import required_literal
from watcher.text import normalize

SETTINGS = settings(max_examples=120, deadline=None)

# A small vocabulary so random queries often hit: folded/unfolded pairs, Cyrillic, and
# words sharing prefixes.
WORDS = [
    "putin",
    "Путин",
    "zelenskyy",
    "istanbul",
    "talks",
    "talked",
    "Türkiye",
    "turkiye",
    "kremlin",
    "meeting",
    "peace",
    "swap",
]
ALIASES = {"putin": ["путин", "vladimir putin"], "turkey": ["turkiye", "türkei"]}
SEPARATORS = [" ", " ", " – ", ", ", "’s "]

words = st.sampled_from(WORDS)


@st.composite
def texts(draw: st.DrawFn, max_words: int = 10) -> str:
    parts = draw(st.lists(words, max_size=max_words))
    out = ""
    for i, word in enumerate(parts):
        out += (draw(st.sampled_from(SEPARATORS)) if i else "") + word
    return out


@st.composite
def documents(draw: st.DrawFn) -> Document:
    return Document(
        title=draw(texts(max_words=6)),
        paragraphs=draw(st.lists(texts(), max_size=3)),
        feed=draw(st.sampled_from(["", "Kremlin Daily", "Istanbul Times"])),
    )


def _prefix(word: str) -> str:
    stem = normalize(word)
    return stem[: max(1, len(stem) - 3)] + "*"


leaves = st.one_of(
    words,
    words.map(_prefix),
    st.tuples(words, words).map(lambda p: f'"{p[0]} {p[1]}"'),
    st.sampled_from(["@putin", "@turkey", "/tal/", "/kremlin meeting/"]),
    words.map(lambda w: f"title:{w}"),
    words.map(lambda w: f"feed:{w}"),
)


def _near(pair: tuple[str, str, int]) -> str:
    return f"({pair[0]} NEAR/{pair[2]} {pair[1]})"


positional = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, inner, st.integers(1, 6)).map(_near),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
    ),
    max_leaves=4,
)

queries = st.recursive(
    positional,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        inner.map(lambda q: f"NOT {q}"),
        inner.map(lambda q: f"-({q})"),
    ),
    max_leaves=6,
)


def matches(query: str, doc: Document) -> bool:
    return parse_query(query, ALIASES).match(doc) is not None


@SETTINGS
@given(queries, queries, documents())
def test_or_matches_exactly_when_either_side_does(a: str, b: str, doc: Document) -> None:
    """`a OR b` matches iff `a` matches or `b` matches."""
    assert matches(f"({a}) OR ({b})", doc) == (matches(a, doc) or matches(b, doc))


@SETTINGS
@given(queries, queries, documents())
def test_and_matches_exactly_when_both_sides_do(a: str, b: str, doc: Document) -> None:
    """`a AND b` and `a b` match iff both sides match."""
    both = matches(a, doc) and matches(b, doc)
    assert matches(f"({a}) AND ({b})", doc) == both
    assert matches(f"({a}) ({b})", doc) == both


@SETTINGS
@given(queries, documents())
def test_not_inverts_and_not_not_is_identity(a: str, doc: Document) -> None:
    """`NOT a` matches iff `a` does not, and `NOT NOT a` is `a`."""
    assert matches(f"NOT ({a})", doc) != matches(a, doc)
    assert matches(f"NOT NOT ({a})", doc) == matches(a, doc)


@SETTINGS
@given(queries)
def test_canonical_form_parses_back_to_the_same_query(a: str) -> None:
    """str(query) is a query text that parses to the same tree."""
    query = parse_query(a, ALIASES)
    assert parse_query(str(query), ALIASES) == query


def _segments(doc: Document) -> list[list[str]]:
    return [list(s.tokens) for s in doc.segments if s.field in ("title", "body")]


@SETTINGS
@given(words, words, documents())
def test_phrase_matches_iff_words_adjacent_in_one_segment(a: str, b: str, doc: Document) -> None:
    """A two-word phrase matches iff some title/paragraph holds the two words in a row
    (checked on the normal form by string search, independently of the matcher)."""
    needle = f" {normalize(a)} {normalize(b)} "
    expected = any(needle in f" {' '.join(tokens)} " for tokens in _segments(doc))
    assert matches(f'"{a} {b}"', doc) == expected


@SETTINGS
@given(words, words, st.integers(1, 8), documents())
def test_near_matches_iff_positions_within_distance(
    a: str, b: str, distance: int, doc: Document
) -> None:
    """`a NEAR/n b` matches iff one segment has the two words at different positions at
    most n apart (brute force over all position pairs)."""
    na, nb = normalize(a), normalize(b)
    expected = any(
        i != j and abs(i - j) <= distance
        for tokens in _segments(doc)
        for i, x in enumerate(tokens)
        if x == na
        for j, y in enumerate(tokens)
        if y == nb
    )
    assert matches(f"{a} NEAR/{distance} {b}", doc) == expected


@SETTINGS
@given(st.lists(queries, min_size=1, max_size=12), st.lists(documents(), min_size=1, max_size=4))
def test_index_agrees_with_evaluating_every_topic(texts_: list[str], docs: list[Document]) -> None:
    """TopicIndex.match returns exactly the topics whose query matches, with the same
    explanations, for every item, before and after it re-chooses anchors from counts."""
    topics = [(f"t{i}", parse_query(text, ALIASES)) for i, text in enumerate(texts_)]
    index = TopicIndex(topics)
    for retuned in (False, True):
        for doc in docs:
            plain = [(name, q.match(doc)) for name, q in topics]
            assert index.match(doc) == [(name, m) for name, m in plain if m is not None]
        if not retuned:
            index.retune()  # anchors re-chosen from what these items held


REGEX_PIECES = ["a", "b", "ab", "ba", " ", "\\w", "\\b", "(a|b)", "[ab]", "?", "*", "+", ".",
                "|", "{1,2}", "(?:ab)", "\\ ", "\\.", "^", "$", "c"]  # fmt: skip


@settings(max_examples=600, deadline=None)  # cheap examples, and matches are rare
@given(
    st.lists(st.sampled_from(REGEX_PIECES), min_size=1, max_size=8),
    st.text(st.sampled_from("aaabbbc ."), max_size=12),
)
def test_regex_literal_precheck_never_rejects_a_match(pieces: list[str], text: str) -> None:
    """The literal a /regex/ is pre-checked with is in every text the regex matches, so
    the shortcut never changes a result."""
    pattern = "".join(pieces)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return
    literal = required_literal(pattern, min_length=1)
    if any(m.end() > m.start() for m in compiled.finditer(text)):
        assert literal in text.lower()
