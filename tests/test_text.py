"""The normal form every comparison uses, and HTML to paragraphs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import watcher.text
from watcher.text import drop_repeats, html_to_paragraphs, normalize, tokenize, word_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Türkiye", "turkiye"),
        ("İstanbul", "istanbul"),
        ("ISTANBUL", "istanbul"),
        ("Putin–Zelenskyy", "putin zelenskyy"),  # en dash splits words
        ("Putin—Zelenskyy", "putin zelenskyy"),  # em dash
        ('“quoted” ‘single’ "straight"', "quoted single straight"),
        ("Russia’s and Russia's", "russia s and russia s"),
        ("Zełenski", "zelenski"),  # Polish ł has no combining mark
        ("Ёлка Зеленський", "елка зеленськии"),  # Cyrillic folds the same way on both sides
        ("ﬁnal", "final"),  # NFKC ligature
        ("Straße", "strasse"),
        ("a\u00a0b\tc\n d", "a b c d"),
        ("  ...  ", ""),
        ("1,000 people", "1 000 people"),
    ],
)
def test_normal_form(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normal_form_has_single_spaces_and_no_upper_case(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.casefold() or not out.isascii()


def test_tokens_and_word_count() -> None:
    assert tokenize("Putin–Zelenskyy meeting?") == ["putin", "zelenskyy", "meeting"]
    assert word_count("Photo: AFP") == 2


@pytest.mark.parametrize(
    ("markup", "paragraphs"),
    [
        ("<p>One &amp; two</p><p>Three</p>", ["One & two", "Three"]),
        ("Line one<br>still one<br><br>two", ["Line one still one", "two"]),
        ("Line one<br/> <br />two", ["Line one", "two"]),
        ("<div><p>nested</p>tail</div>", ["nested", "tail"]),
        ("<ul><li>a</li><li>b</li></ul>", ["a", "b"]),
        ("<p>x<script>alert(1)</script>y</p><style>p{}</style>", ["xy"]),
        ("<h2>Head</h2><p>Body <b>bold</b> <a href='#'>link</a>.</p>", ["Head", "Body bold link."]),
        ("plain text\n\nsecond paragraph\nwrapped", ["plain text", "second paragraph wrapped"]),
        ("&lt;not a tag&gt;", ["<not a tag>"]),
        ("<p>  </p><p>\xa0</p>", []),
        ("", []),
        ("<p>unclosed <b>bold", ["unclosed bold"]),
        ("<img src=x alt='caption noise'><p>text</p>", ["text"]),
        # a self-closed iframe (Blogger's video embeds) hides nothing after it
        ("<p>a</p><iframe src='v' /><p>after the video</p>", ["a", "after the video"]),
        # fallback text of embeds is text, as feedparser's sanitizer keeps it
        ("<p>safe <object data='x'>description</object></p>", ["safe description"]),
        ("<applet code='x'>never shown</applet>kept", ["kept"]),
        ("sa<!-- a comment -->fe", ["safe"]),
        ("&#X61;&#x62;", ["ab"]),
    ],
)
def test_html_to_paragraphs(markup: str, paragraphs: list[str]) -> None:
    assert html_to_paragraphs(markup) == paragraphs


def test_repeated_lead_is_kept_once() -> None:
    lead = "Russian President Vladimir Putin is open to high-level negotiations, Peskov said."
    paragraphs = [lead, "Other text.", "Related news", lead.replace("said", "said ")]
    assert drop_repeats(paragraphs) == [lead, "Other text.", "Related news"]


def test_repeats_compare_in_normal_form() -> None:
    assert drop_repeats(["“Quoted” text", '"quoted" TEXT', "other"]) == ["“Quoted” text", "other"]


_FRAGMENTS = [
    "<p>", "</p>", "<br>", "<br/>", "<br />", "</br>", "<div class='lead'>", "</div>",
    "<b>", "</b>", '<a href="https://example.org/?a=1&amp;b=2">', "</a>", "<P>", "<LI>",
    "<span title='it\"s'>", "<img src=x alt=\"a > b\">", "<h2>", "</h2>", "<script>",
    "</script>", "<style>", "<!-- note -->", "<![CDATA[x]]>", "<iframe src='v' />",
    "<object>", "</object>", "<?php ?>", "<", ">", "&amp;", "&nbsp;", "&#8217;", "&#X61;",
    "&bogus;", "&", "Talks", " in ", "Istanbul", "\n", "  ", "\xa0", "Zelenskyy's", "é",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40))
def test_the_regex_reading_of_simple_markup_equals_html_parsers(fragments: list[str]) -> None:
    """html_to_paragraphs reads plain news markup with a regex, the rest with HTMLParser;
    wherever the regex path answers, it must answer what HTMLParser would."""
    markup = "".join(fragments)
    fast = watcher.text._simple_paragraphs(markup)
    if fast is not None:
        assert fast == watcher.text._html_parser_paragraphs(markup)
