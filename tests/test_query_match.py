"""What each query form matches, on small documents built in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.model import Item
from watcher.query import Document, parse_query

ALIASES = {
    "zelenskyy": ["zelensky", "zelenskiy", "volodymyr zelensky", "Зеленский", "Зеленський"],
    "putin": ["путин", "vladimir putin"],
    "erdogan": ["erdoğan", "эрдоган*"],
}

TALKS = Document(
    title="Russia and Ukraine hold talks in Istanbul",
    paragraphs=[
        "Delegations met in Türkiye on Friday for the first direct negotiations since 2022.",
        "The Putin–Zelenskyy meeting did not happen; a prisoner swap was agreed instead.",
        "Peace remains far away",
        "talks continued at the Dolmabahçe palace",
    ],
    feed="Anadolu Agency",
    feed_url="https://www.aa.com.tr/en/rss/default?cat=world",
    author="Jane Smith",
    categories=["World", "Russia-Ukraine war"],
    link="https://www.aa.com.tr/en/europe/russia-ukraine-talks/123",
)


def words(n: int) -> str:
    """`n` filler words that match nothing the tests look for."""
    return " ".join(f"filler{i}" for i in range(n))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # terms, implicit AND, AND/OR/NOT
        ("istanbul", True),
        ("ISTANBUL", True),
        ("ankara", False),
        ("istanbul talks", True),
        ("istanbul ankara", False),
        ("istanbul AND ankara", False),
        ("istanbul OR ankara", True),
        ("ankara OR moscow", False),
        ("NOT ankara", True),
        ("NOT istanbul", False),
        ("istanbul -ankara", True),
        ("istanbul NOT talks", False),
        ("NOT NOT istanbul", True),
        # precedence: AND before OR, NOT before AND
        ("ankara AND moscow OR istanbul", True),  # (ankara AND moscow) OR istanbul
        ("ankara AND (moscow OR istanbul)", False),
        ("NOT ankara AND istanbul", True),  # (NOT ankara) AND istanbul
        ("NOT (ankara AND istanbul)", True),
        ("NOT (istanbul AND talks)", False),
        # diacritics and dashes are folded, on both sides
        ("turkiye", True),
        ("Türkiye", True),
        ("dolmabahce", True),
        ('"putin zelenskyy meeting"', True),
        ("putin–zelenskyy", True),
        ("putin-zelenskyy", True),
        # phrases
        ('"prisoner swap"', True),
        ('"swap prisoner"', False),
        ('"direct negotiations"', True),
        ('"first direct negotiations since"', True),
        # a phrase never matches across a paragraph or title boundary
        ('"agreed instead peace"', False),
        ('"istanbul delegations"', False),
        ('"far away talks"', False),
        # prefixes, in a phrase too
        ("negotiat*", True),
        ("negotiatx*", False),
        ("deleg*", True),
        ('"prisoner sw*"', True),
        ('"prison* swap"', True),
        ('"prison* deal"', False),
        # regex on the normal form (lower case, folded, single spaces)
        ("/negotiat(ion|ions)/", True),
        ("/turkiye/", True),
        ("/Türkiye/", False),  # the pattern is not folded, the text is
        ("/putin zelenskyy/", True),
        ("/^peace remains/", True),
        ("/agreed instead peace/", False),
        # unscoped terms look at title and body only
        ("anadolu", False),
        ("smith", False),
        ("world", False),
        ("aa", False),
    ],
)
def test_operators_phrases_prefixes_and_regex(query: str, expected: bool) -> None:
    """Each operator and term form matches the TALKS document exactly when it should."""
    assert (parse_query(query, ALIASES).match(TALKS) is not None) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("title:istanbul", True),
        ("title:delegations", False),
        ("body:delegations", True),
        ("body:istanbul", False),
        ("feed:anadolu", True),
        ('feed:"anadolu agency"', True),
        ("feed:aa", True),  # the feed URL belongs to the feed field too
        ("feed:reuters", False),
        ("author:smith", True),
        ("author:jane*", True),
        ("author:doe", False),
        ("category:world", True),
        ('category:"russia ukraine war"', True),
        ('category:"world russia"', False),  # two categories, not one phrase
        ("link:aa.com.tr", True),
        ("link:russia-ukraine-talks", True),
        ("link:bbc", False),
        ("title:(istanbul OR delegations)", True),
        ("title:(ankara OR delegations)", False),
        ("title:/hold talks/", True),
        ("title:/direct/", False),
        ("feed:anadolu AND NOT title:ankara", True),
    ],
)
def test_field_scopes(query: str, expected: bool) -> None:
    """A scoped term looks only at its field; feed covers the feed name and URL, each
    category is its own segment, link is searched in normal form."""
    assert (parse_query(query, ALIASES).match(TALKS) is not None) is expected


@pytest.mark.parametrize(
    ("gap", "distance", "expected"),
    [
        (1, 1, True),
        (2, 1, False),
        (3, 3, True),  # NEAR/3 matches at distance 3...
        (4, 3, False),  # ...and not at 4
        (10, 10, True),
        (11, 10, False),
    ],
)
@pytest.mark.parametrize("order", ["putin first", "zelenskyy first"])
def test_near_distance_boundary(gap: int, distance: int, expected: bool, order: str) -> None:
    """NEAR/n matches when the word positions differ by at most n, in either order
    (distance 1 = adjacent words)."""
    first, second = ("Putin", "Zelenskyy") if order == "putin first" else ("Zelenskyy", "Putin")
    text = f"{words(3)} {first} {words(gap - 1)} {second} {words(3)}".replace("  ", " ")
    doc = Document(paragraphs=[text])
    assert (parse_query(f"putin NEAR/{distance} zelenskyy").match(doc) is not None) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"putin {words(9)} zelenskyy", True),  # distance 10
        (f"putin {words(10)} zelenskyy", False),  # distance 11
    ],
)
def test_near_without_a_number_means_ten(text: str, expected: bool) -> None:
    """Plain NEAR is NEAR/10."""
    assert (
        parse_query("putin NEAR zelenskyy").match(Document(paragraphs=[text])) is not None
    ) is expected


@pytest.mark.parametrize(
    ("query", "paragraphs", "expected"),
    [
        # a phrase side: distance is counted from its nearest end
        ('"vladimir putin" NEAR/2 zelenskyy', ["vladimir putin met zelenskyy"], True),
        ('"vladimir putin" NEAR/1 zelenskyy', ["vladimir putin met zelenskyy"], False),
        ('zelenskyy NEAR/2 "vladimir putin"', ["vladimir putin met zelenskyy"], True),
        # a prefix side and an alias side
        ("negotiat* NEAR/3 @putin", ["Путин rejected the negotiations"], True),
        ("meet* NEAR/2 @zelenskyy", ["a meeting with Volodymyr Zelensky"], True),
        # never across paragraphs
        ("putin NEAR/50 zelenskyy", ["putin said", "zelenskyy said"], False),
        ("putin NEAR/50 zelenskyy", ["putin said"], False),
        # the same word cannot be both sides
        ("putin NEAR putin", ["putin said"], False),
        ("putin NEAR putin", ["putin met putin"], True),
        ("@putin NEAR putin", ["vladimir putin spoke"], False),
        # an OR of positional terms on a side
        ("(putin OR kremlin) NEAR/2 talks", ["the kremlin rejected talks"], True),
        ("(putin OR kremlin) NEAR/1 talks", ["the kremlin rejected talks"], False),
        # NEAR of a NEAR: the pair spans from its first to its last word, and a word
        # inside that span is at distance 0
        (
            "(putin NEAR/10 zelenskyy) NEAR/2 meeting",
            ["putin wants a meeting with zelenskyy"],
            True,
        ),
        (
            "(putin NEAR/10 zelenskyy) NEAR/2 meeting",
            ["putin and zelenskyy said one day a meeting"],
            False,
        ),
        ("/zelensk\\w+/ NEAR/1 putin", ["putin zelenskyy"], True),
        ("title:putin NEAR zelenskyy", ["putin zelenskyy"], False),
    ],
)
def test_near_with_phrases_prefixes_groups_and_nesting(
    query: str, paragraphs: list[str], expected: bool
) -> None:
    """Each NEAR side may be a term, phrase, prefix, @group, /regex/, an OR of them, or
    another NEAR; sides never share a word and never span paragraphs."""
    doc = Document(paragraphs=paragraphs)
    assert (parse_query(query, ALIASES).match(doc) is not None) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zelenskyy spoke", True),  # the group's own name is a spelling
        ("Zelensky spoke", True),
        ("Zelenskiy spoke", True),
        ("President Volodymyr Zelensky spoke", True),
        ("Volodymyr spoke", False),  # a multi-word spelling is a phrase, not two words
        ("Зеленский заявил", True),
        ("Зеленський заявив", True),
        ("ЗЕЛЕНСКИЙ", True),
        ("Zelenska spoke", False),
    ],
)
def test_alias_group_matches_every_spelling(text: str, expected: bool) -> None:
    """@group matches any spelling of the group (group name included), multi-word and
    Cyrillic ones too, case- and diacritics-insensitively."""
    doc = Document(paragraphs=[text])
    assert (parse_query("@zelenskyy", ALIASES).match(doc) is not None) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("@putin", "Путин заявил", True),
        ("@putin", "Владимир Путин", True),
        ("встреч*", "готов к встрече", True),
        ("встреч*", "готов к переговорам", False),
        ("@erdogan", "Erdogan said", True),  # the spelling "erdoğan" folds to erdogan
        ("@erdogan", "Эрдогану позвонили", True),  # an alias spelling may be a prefix
        ("@putin NEAR/3 встреч*", "Путин готов к встрече", True),
        ("Erdoğan", "ERDOGAN", True),
        ("straße", "Strasse", True),
        ("zełenski", "Zelenski", True),
    ],
)
def test_any_script_and_folded_letters(query: str, text: str, expected: bool) -> None:
    """Terms, prefixes and aliases work in Cyrillic, and folded letters match both ways."""
    doc = Document(paragraphs=[text])
    assert (parse_query(query, ALIASES).match(doc) is not None) is expected


def test_document_from_item_carries_every_field() -> None:
    """Document.from_item takes title, paragraphs, author, categories and link from the
    item, and feed name/URL from the caller."""
    item = Item(
        key="guid:1",
        title="Kremlin comments",
        link="https://example.org/world/kremlin",
        published=datetime(2025, 5, 30, tzinfo=UTC),
        author="Ivan Petrov",
        categories=("Europe",),
        paragraphs=("Peskov spoke to journalists.",),
    )
    doc = Document.from_item(item, feed_name="Caspian Post", feed_url="https://caspianpost.com/rss")
    for query in (
        "title:kremlin",
        "body:peskov",
        "author:petrov",
        "category:europe",
        "link:example.org",
        "feed:caspian",
        "feed:caspianpost",
    ):
        assert parse_query(query).match(doc) is not None, query
    assert parse_query("peskov").match(item) is not None  # an Item is accepted directly


def test_empty_document_matches_only_negations() -> None:
    """An item with no text matches no term, so only NOT-queries can match it."""
    doc = Document()
    assert parse_query("istanbul").match(doc) is None
    match = parse_query("NOT istanbul").match(doc)
    assert match is not None and match.terms == () and match.snippet is None
