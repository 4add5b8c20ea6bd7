"""Explanations: which terms matched where, and the best snippet from the original text."""

from __future__ import annotations

import html

import pytest

from watcher.query import Document, Snippet, parse_query
from watcher.query.document import token_spans
from watcher.text import tokenize

ALIASES = {"putin": ["путин", "vladimir putin"], "zelenskyy": ["zelensky", "Зеленский"]}


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Putin–Zelenskyy talks", ["Putin", "Zelenskyy", "talks"]),
        ("Russia’s proposal", ["Russia", "s", "proposal"]),
        ("(Volodymyr) Zelenskyy,", ["Volodymyr", "Zelenskyy"]),
        ("Türkiye hosts “talks”", ["Türkiye", "hosts", "talks"]),
        ("Зеленский и Путин", ["Зеленский", "и", "Путин"]),
        ("the ﬁnal", ["the", "ﬁnal"]),  # NFKC ligature: one character, two letters
        ("Straße—Kyiv", ["Straße", "Kyiv"]),  # ß folds to ss, the dash splits
        ("Dolmabahc\u0327e palace", ["Dolmabahc\u0327e", "palace"]),  # combining cedilla
        ("1,000 people", ["1", "000", "people"]),
        ("   ", []),
    ],
)
def test_token_spans_point_into_the_original_text(text: str, pieces: list[str]) -> None:
    """Each normalized token maps back to the exact characters it came from, whatever
    normalization did to their length (ligatures, ß, combining marks, curly quotes)."""
    tokens = tokenize(text)
    spans = token_spans(text, tokens)
    assert [text[s:e] for s, e in spans] == pieces


def test_hits_say_which_term_matched_where() -> None:
    """Every hit names the query term as written, the field, the paragraph index and the
    original characters; NOT terms are never reported."""
    doc = Document(
        title="Putin open to talks",
        paragraphs=[
            "Photo: AFP",
            "The Kremlin said talks in Istanbul would go on.",
            "Zelensky agreed.",
        ],
    )
    match = parse_query("@putin talks NOT ankara (istanbul OR ankara)", ALIASES).match(doc)
    assert match is not None
    assert match.terms == ("@putin", "talks", "istanbul")
    found = [
        (h.term, h.field, h.index, h.text, doc_text(doc, h.field, h.index)[h.start : h.end])
        for h in match.hits
    ]
    assert found == [
        ("@putin", "title", 0, "Putin", "Putin"),
        ("talks", "title", 0, "talks", "talks"),
        ("talks", "body", 1, "talks", "talks"),
        ("istanbul", "body", 1, "Istanbul", "Istanbul"),
    ]


def doc_text(doc: Document, field: str, index: int) -> str:
    return next(s.text for s in doc.segments if s.field == field and s.index == index)


def test_snippet_is_the_paragraph_with_most_distinct_terms_marked_in_original_text() -> None:
    """The snippet comes from the paragraph holding the most distinct matched terms, in its
    original spelling (capitals, diacritics, Cyrillic), with spans on each term."""
    doc = Document(
        title="Путин и Зеленский",
        paragraphs=[
            "Путин said nothing.",
            "“President Путин supports a personal meeting with Зеленский,” Peskov said.",
        ],
    )
    match = parse_query("(@putin NEAR/15 @zelenskyy) AND meet*", ALIASES).match(doc)
    assert match is not None
    snippet = match.snippet
    assert snippet is not None and (snippet.field, snippet.index) == ("body", 1)
    assert snippet.text == doc.segments[2].text
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["Путин", "meeting", "Зеленский"]
    assert match.plain_snippet == snippet.text


def test_title_is_the_snippet_only_when_no_paragraph_matched() -> None:
    """On a tie a paragraph wins over the title (alerts show the title anyway); a title
    that alone holds the terms is the snippet."""
    only_title = Document(title="Kremlin rejects talks", paragraphs=["Nothing relevant here."])
    match = parse_query("kremlin talks").match(only_title)
    assert match is not None and match.snippet is not None
    assert (match.snippet.field, match.snippet.text) == ("title", "Kremlin rejects talks")
    tie = Document(title="Kremlin rejects talks", paragraphs=["The Kremlin rejects talks."])
    match = parse_query("kremlin talks").match(tie)
    assert match is not None and match.snippet is not None
    assert match.snippet.field == "body"


def test_long_paragraph_is_trimmed_around_the_terms_with_ellipses() -> None:
    """A long paragraph is cut to a window of about 240 characters around the matched
    terms, at word boundaries, with an ellipsis on each cut side."""
    before = " ".join(["Earlier, officials discussed unrelated budget matters at length."] * 6)
    after = " ".join(["Later, the committee adjourned without any further statement."] * 6)
    paragraph = f"{before} Russia and Ukraine agreed in Istanbul to swap prisoners. {after}"
    match = parse_query("istanbul prisoners").match(Document(paragraphs=[paragraph]))
    assert match is not None and match.snippet is not None
    text = match.snippet.text
    assert 150 <= len(text) <= 260
    assert text.startswith("…") and text.endswith("…")
    assert "Russia and Ukraine agreed in Istanbul to swap prisoners." in text
    assert [text[s:e] for s, e in match.snippet.spans] == ["Istanbul", "prisoners"]
    inner = text.strip("…")
    assert paragraph.find(inner) >= 0  # an exact excerpt, cut between words


def test_window_prefers_the_cluster_with_more_distinct_terms() -> None:
    """When terms are spread out, the window goes where the most distinct terms are."""
    filler = " ".join(["nothing to see in this sentence at all."] * 10)
    paragraph = f"Istanbul first. {filler} Talks in Istanbul on a memorandum began. {filler}"
    match = parse_query("istanbul talks memorandum").match(Document(paragraphs=[paragraph]))
    assert match is not None and match.snippet is not None
    marked = [match.snippet.text[s:e] for s, e in match.snippet.spans]
    assert marked == ["Talks", "Istanbul", "memorandum"]


def test_render_marks_spans_for_terminal_and_html() -> None:
    """render() wraps each span (ANSI or <mark>), and escapes the text when asked."""
    snippet = Snippet("A <b> & Putin met Zelensky", ((8, 13), (18, 26)), "body", 0)
    assert (
        snippet.render("\x1b[1m", "\x1b[0m")
        == "A <b> & \x1b[1mPutin\x1b[0m met \x1b[1mZelensky\x1b[0m"
    )
    assert (
        snippet.render("<mark>", "</mark>", html.escape)
        == "A &lt;b&gt; &amp; <mark>Putin</mark> met <mark>Zelensky</mark>"
    )
    assert str(snippet) == snippet.text


def test_overlapping_hits_are_merged_into_one_span() -> None:
    """ "Vladimir Putin" and "Putin" (two spellings of one group) highlight once."""
    match = parse_query("@putin", ALIASES).match(Document(paragraphs=["Vladimir Putin spoke."]))
    assert match is not None and match.snippet is not None
    assert [match.snippet.text[s:e] for s, e in match.snippet.spans] == ["Vladimir Putin"]


def test_metadata_only_match_shows_the_lead_paragraph() -> None:
    """A match on feed:/author: alone (or through NOT) shows the first paragraph, unmarked."""
    doc = Document(
        title="Weather", paragraphs=["Sunny all week.", "More later."], feed="Anadolu Agency"
    )
    match = parse_query("feed:anadolu").match(doc)
    assert match is not None and match.snippet is not None
    assert (match.snippet.text, match.snippet.spans) == ("Sunny all week.", ())
    assert [(h.field, h.index, h.text) for h in match.hits] == [("feed", 0, "Anadolu")]


def test_to_json_has_terms_snippet_and_hits() -> None:
    """Match.to_json() is the shape alerts carry (terms, plain snippet, hits)."""
    doc = Document(paragraphs=["Talks in Istanbul."])
    match = parse_query("istanbul talks").match(doc)
    assert match is not None
    assert match.to_json() == {
        "terms": ["istanbul", "talks"],
        "snippet": "Talks in Istanbul.",
        "hits": [
            {"term": "talks", "field": "body", "index": 0, "start": 0, "end": 5, "text": "Talks"},
            {
                "term": "istanbul",
                "field": "body",
                "index": 0,
                "start": 9,
                "end": 17,
                "text": "Istanbul",
            },
        ],
    }
