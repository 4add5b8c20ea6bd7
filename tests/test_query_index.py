"""TopicIndex: anchors, candidate selection and indexed matching."""

from __future__ import annotations

import pytest

from watcher.query import Document, TopicIndex, parse_query

ALIASES = {"putin": ["путин", "vladimir putin"], "zelenskyy": ["zelensky", "Зеленский"]}


@pytest.mark.parametrize(
    ("query", "anchors"),
    [
        ("istanbul", {(False, "istanbul")}),
        ("istanbul AND (talks OR negotiat*)", {(False, "istanbul")}),
        ("(talks OR negotiat*) AND istanbul", {(False, "istanbul")}),
        ("talks OR negotiat*", {(False, "talks"), (True, "negotiat")}),
        ('"face to face"', {(False, "face")}),
        ('"the kremlin"', {(False, "kremlin")}),  # a frequent word is a poor anchor
        ("the AND kremlin", {(False, "kremlin")}),
        ("@putin", {(False, "putin"), (False, "путин")}),  # "vladimir putin" reuses putin
        ("@putin NEAR/15 @zelenskyy", {(False, "putin"), (False, "путин")}),
        ("istanbul NOT ankara", {(False, "istanbul")}),
        ("title:kremlin", {(False, "kremlin")}),
        ("NOT ankara", None),
        ("/zelensk/", None),
        ("istanbul OR /zelensk/", None),
        ("istanbul AND /zelensk/", {(False, "istanbul")}),
    ],
)
def test_anchors_are_tokens_a_matching_item_must_contain(query: str, anchors: set | None) -> None:
    """A query is anchored on the cheapest set of tokens/prefixes one of which must occur;
    top-level NOT, bare regex, or an OR with such a branch cannot be anchored."""
    found = parse_query(query, ALIASES).anchors
    assert (None if found is None else set(found)) == anchors


def test_index_proposes_only_topics_whose_anchor_occurs_plus_unanchored_ones() -> None:
    """An item is evaluated against topics with an anchor in it and the always-list only."""
    index = TopicIndex(
        [
            ("istanbul", parse_query("istanbul talks")),
            ("negotiations", parse_query("negotiat* AND russia")),
            ("not-sport", parse_query("NOT football")),
            ("regex", parse_query("/kreml/")),
            ("ankara", parse_query("ankara")),
        ]
    )
    assert index.always == [2, 3]
    doc = Document(title="Negotiators meet", paragraphs=["Talks in Istanbul"])
    # "negotiat* AND russia" is anchored on russia (an exact word beats a prefix): skipped
    assert index.candidates(doc) == [0, 2, 3]
    assert [name for name, _ in index.match(doc)] == ["istanbul", "not-sport"]


def test_index_results_come_in_topic_order_with_explanations() -> None:
    """match() returns (name, Match) pairs in the order topics were given."""
    queries = [("b", "talks"), ("a", "istanbul"), ("c", "ankara")]
    index = TopicIndex([(name, parse_query(text)) for name, text in queries])
    found = index.match(Document(paragraphs=["Talks in Istanbul"]))
    assert [(name, m.terms) for name, m in found] == [("b", ("talks",)), ("a", ("istanbul",))]
    assert len(index) == 3


def test_anchor_in_another_field_makes_a_candidate_but_not_a_match() -> None:
    """Anchors ignore fields (a safe over-approximation): the query still decides."""
    index = TopicIndex([("t", parse_query("title:kremlin"))])
    doc = Document(title="Talks", feed="Kremlin News")
    assert index.candidates(doc) == [0]
    assert index.match(doc) == []


def test_prefix_anchors_of_several_lengths() -> None:
    """Prefix anchors of any length find the items holding a word that starts with them."""
    index = TopicIndex(
        [("a", parse_query("negotiat*")), ("b", parse_query("neg*")), ("c", parse_query("встреч*"))]
    )
    assert index.candidates(Document(paragraphs=["negotiations"])) == [0, 1]
    assert index.candidates(Document(paragraphs=["negative"])) == [1]
    assert index.candidates(Document(paragraphs=["Встреча"])) == [2]
    assert index.candidates(Document(paragraphs=["ne"])) == []


def test_index_learns_which_anchor_is_rare() -> None:
    """After seeing items where "trump" is everywhere and "tusk" rare, a topic needing
    both is re-anchored on "tusk"; the common word is no longer a reason to try it."""
    index = TopicIndex([("t", parse_query("trump AND tusk"))])
    assert index.anchors == [frozenset({(False, "trump")})]  # the static guess: longer word
    for i in range(20):
        index.candidates(Document(paragraphs=[f"trump said {'tusk' if i == 0 else 'nothing'}"]))
    index.retune()
    assert index.anchors == [frozenset({(False, "tusk")})]
    assert index.candidates(Document(paragraphs=["trump spoke"])) == []
    assert [n for n, _ in index.match(Document(paragraphs=["trump met tusk"]))] == ["t"]


def test_index_counts_prefix_anchors_too() -> None:
    """Prefix candidates are counted as well: a rare prefix beats a frequent word."""
    index = TopicIndex([("t", parse_query("talks AND negotiat*"))])
    for _ in range(10):
        index.candidates(Document(paragraphs=["talks resumed"]))
    index.retune()
    assert index.anchors == [frozenset({(True, "negotiat")})]


def test_static_index_keeps_the_query_anchors() -> None:
    """adaptive=False never counts nor re-anchors."""
    index = TopicIndex([("t", parse_query("trump AND tusk"))], adaptive=False)
    for _ in range(300):
        index.candidates(Document(paragraphs=["trump said"]))
    assert index.seen == 0 and not index.counts
    assert index.anchors == [frozenset({(False, "trump")})]
