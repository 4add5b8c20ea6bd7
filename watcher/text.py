"""Plain text from feed HTML, and the normal form used to compare text.

Every stage that compares words (dedup fingerprints, topic queries, snippets) goes through
`normalize`/`tokenize` here, so "Türkiye" equals "Turkiye", "Putin–Zelenskyy" is two words
and curly quotes equal straight ones everywhere at once.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser

# Letters that carry no combining mark in NFD but are still "a letter with a diacritic"
# to a reader (Polish ł in "Zełenski", Turkish dotless ı, Nordic ø...).
_FOLD_LETTERS = {
    "ł": "l", "ı": "i", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t",
    "æ": "ae", "œ": "oe", "þ": "th", "ß": "ss", "ŀ": "l",
}  # fmt: skip
_FOLD_KEYS = frozenset(_FOLD_LETTERS)

# Anything that is not a letter, digit or combining mark separates words: dashes of every
# kind, quotes, apostrophes, punctuation and symbols. A word is a run of the rest.
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")

# Block-level elements end a paragraph. Anything else (a, b, span, img...) is inline.
_BLOCK_TAGS = frozenset(
    """address article aside blockquote body caption center dd details dialog dir div dl
    dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html
    legend li main menu nav ol p pre section summary table tbody td tfoot th thead tr ul
    """.split()
)
# Elements whose content is never text for a reader. The same three as feedparser's
# sanitizer, so the text is the same whether or not feedparser sanitized the HTML first
# (it does not: see parse_xml). The fallback text inside <object> or <iframe> is kept.
_SKIP_TAGS = frozenset({"script", "style", "applet"})
_LOOKS_LIKE_HTML = re.compile(
    r"<\s*/?\s*[a-zA-Z][^>]*>|<!--|&(?:[a-zA-Z]+|#\d+|#[xX][0-9a-fA-F]+);"
)


# Typographic punctuation and spaces that the full path below would turn into spaces
# anyway: mapping them first lets most English text take the fast ASCII path.
_TYPOGRAPHIC = re.compile(
    "[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2026\u2022\u00b7\u00a0\u2009\u202f]"
)


def normalize(text: str) -> str:
    """Comparison form: NFKC, case-folded, diacritics folded, punctuation to spaces.

    The result is lower-case words separated by single spaces, with no leading or
    trailing space. It is idempotent: normalize(normalize(x)) == normalize(x).

    Recent texts are remembered: one paragraph is normalized by several stages in turn
    (repeat removal, then the content hash in the parser; dedup, then topic matching),
    and a repeat costs a dict lookup on the hash the string already holds. Long texts
    are not kept, so the cache stays small whatever the feeds hold.
    """
    if len(text) <= _CACHED_CHARS:
        return _normalize_recent(text)
    return _normalize(text)


_CACHED_TEXTS = 1024  # a feed's worth of titles and paragraphs
_CACHED_CHARS = 2000  # longer texts are rare, and not worth keeping


def _normalize(text: str) -> str:
    if not text.isascii():
        text = _TYPOGRAPHIC.sub(" ", text)
    if text.isascii():
        return " ".join(_WORD.findall(text.lower()))
    text = unicodedata.normalize("NFKC", text).casefold()
    # replace() per letter or mark actually present: each is one C-speed pass, where a
    # translate table or a per-character generator costs a Python-level step per char
    for letter in _FOLD_KEYS.intersection(text):
        text = text.replace(letter, _FOLD_LETTERS[letter])
    text = unicodedata.normalize("NFD", text)
    for mark in [c for c in set(text) if unicodedata.combining(c)]:
        text = text.replace(mark, "")
    text = unicodedata.normalize("NFC", text)
    return " ".join(_WORD.findall(text))


_normalize_recent = lru_cache(maxsize=_CACHED_TEXTS)(_normalize)


def tokenize(text: str) -> list[str]:
    """The words of `text` in normal form, in order."""
    return normalize(text).split()


def word_count(text: str) -> int:
    """How many words `text` has in normal form (what `min_words` counts)."""
    return len(tokenize(text))


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (including non-breaking spaces) to one space, trimmed."""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


class _ParagraphSplitter(HTMLParser):
    """Collects text, cutting a paragraph at block elements and at `<br><br>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._skip_depth = 0
        self._breaks = 0  # consecutive <br> with only whitespace between them

    def _cut(self) -> None:
        text = collapse_whitespace("".join(self._parts))
        if text:
            self.paragraphs.append(text)
        self._parts = []
        self._breaks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._breaks += 1
            if self._breaks >= 2:
                self._cut()
            else:
                self._parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._cut()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<iframe ... />`: an element already closed, with nothing inside to skip
        if tag not in _SKIP_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._cut()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if data.strip():
            self._breaks = 0
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._cut()


def _html_parser_paragraphs(markup: str) -> list[str] | None:
    splitter = _ParagraphSplitter()
    try:
        splitter.feed(markup)
        splitter.close()
    except (AssertionError, ValueError):
        return None
    return splitter.paragraphs


def split_plain_text(text: str) -> list[str]:
    """Paragraphs of plain text: blank lines separate them."""
    out = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        block = collapse_whitespace(block)
        if block:
            out.append(block)
    return out


# A start or end tag with a plain name and attributes holding no angle bracket.
_SIMPLE_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s[^<>]*)?)/?>")
# Elements HTMLParser (in some Python version) reads as raw text, or whose content is
# skipped: markup holding one goes through HTMLParser.
_NOT_SIMPLE = _SKIP_TAGS | frozenset(
    "textarea title xmp iframe noembed noframes noscript plaintext".split()
)


def _simple_paragraphs(markup: str) -> list[str] | None:
    """What _ParagraphSplitter makes of `markup`, when the markup is plain enough to be
    read with one regular expression (news HTML: p, br, a, em... with quoted
    attributes); None otherwise. Several times faster than HTMLParser, which dominates
    parsing once feedparser is out of the way; test_text.py holds them equal."""
    pieces = _SIMPLE_TAG.split(markup)
    paragraphs: list[str] = []
    parts: list[str] = []
    breaks = 0

    def cut() -> None:
        nonlocal parts, breaks
        text = collapse_whitespace("".join(parts))
        if text:
            paragraphs.append(text)
        parts, breaks = [], 0

    for index in range(0, len(pieces), 4):
        data = pieces[index]
        if data:
            if "<" in data:
                return None  # a comment, a declaration, a stray or odd tag
            data = html.unescape(data)
            if data.strip():
                breaks = 0
            parts.append(data)
        if index + 1 >= len(pieces):
            break
        closing, name, attributes = pieces[index + 1 : index + 4]
        name = name.lower()
        if name in _NOT_SIMPLE or attributes.count('"') % 2 or attributes.count("'") % 2:
            return None
        if name == "br":
            if closing:
                continue  # </br>: HTMLParser reports an end tag nobody handles
            breaks += 1
            if breaks >= 2:
                cut()
            else:
                parts.append("\n")
        elif name in _BLOCK_TAGS:
            cut()
    cut()
    return paragraphs


def html_to_paragraphs(markup: str) -> list[str]:
    """Plain-text paragraphs of an item's HTML (or plain text), in document order."""
    if not markup:
        return []
    if not _LOOKS_LIKE_HTML.search(markup):
        return split_plain_text(markup)
    found = _simple_paragraphs(markup)
    if found is None:
        found = _html_parser_paragraphs(markup)
        if found is None:
            # HTMLParser gives up on some pathological markup; strip tags instead.
            stripped = html.unescape(re.sub(r"<[^>]*>", " ", markup))
            return split_plain_text(stripped)
    paragraphs: list[str] = []
    for paragraph in found:
        paragraphs.extend(split_plain_text(paragraph) if "\n\n" in paragraph else [paragraph])
    return paragraphs


def drop_repeats(paragraphs: list[str]) -> list[str]:
    """Paragraphs without those that repeat an earlier one (compared in normal form).

    A page that repeats its lead under "Related news" keeps the lead once.
    """
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        key = normalize(paragraph)
        if not key or key in seen:
            continue
        seen.add(key)
        kept.append(paragraph)
    return kept
