"""The fast reader (watcher.parse_fast) against feedparser, the parser of record.

Wherever the fast reader answers, parse_xml's result must be exactly what it is when
feedparser reads the same document: every file of the shared corpus is read both ways.
Where it cannot be sure, it must decline, and feedparser reads the document.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import watcher.parse_xml
from tests.support.builders import Entry, rss
from watcher.errors import ParseError
from watcher.parse_fast import read_plain
from watcher.parse_xml import read_xml
from watcher.rawfeed import RawFeed

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
URL = "https://corpus.example/feed.xml"


def _both_ways(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[RawFeed | None, bool, object]:
    """(parse_xml's result, whether the fast reader answered, feedparser's result)."""
    answered: list[bool] = []

    def spy(data: bytes, *, url: str, charset: str | None) -> RawFeed | None:
        result = read_plain(data, url=url, charset=charset)
        answered.append(result is not None)
        return result

    def read() -> RawFeed | None:
        try:
            return read_xml(body, url=URL)
        except ParseError:
            return None

    with monkeypatch.context() as patch:
        patch.setattr(watcher.parse_xml, "read_plain", spy)
        ours = read()
    with monkeypatch.context() as patch:
        patch.setattr(watcher.parse_xml, "read_plain", lambda *_a, **_k: None)
        feedparsers = read()
    return ours, any(answered), feedparsers


def _folders() -> list[str]:
    if not CORPUS.is_dir():
        return ["(corpus absent)"]
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.is_dir())


@pytest.mark.parametrize("folder", _folders())
def test_the_fast_reader_gives_what_feedparser_gives_on_every_corpus_file_it_reads(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (../shared is absent)")
    files = sorted(p for p in (CORPUS / folder).rglob("*") if p.is_file() and p.suffix != ".md")
    differ, answered = [], 0
    for path in files:
        body = path.read_bytes()
        if body.lstrip()[:1] in (b"{", b"["):
            continue  # JSON Feed: not parse_xml's
        ours, fast, feedparsers = _both_ways(body, monkeypatch)
        answered += fast
        if fast and ours != feedparsers:
            differ.append(str(path.relative_to(CORPUS)))
    print(f"\n{folder}: the fast reader read {answered} of {len(files)} files")
    assert differ == []


def test_the_fast_reader_reads_every_real_news_feed_of_the_istanbul_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The feeds the project watches are the plain kind: none needs feedparser."""
    files = sorted((CORPUS / "real" / "istanbul-2025").glob("*/*.xml"))
    if not files:
        pytest.skip("Istanbul corpus not found (../shared is absent)")
    assert all(read_plain(p.read_bytes(), url=URL, charset=None) for p in files)
    assert len(files) >= 80


PLAIN_RSS = rss([Entry("a", "Talks in Istanbul", ["Delegations met on Friday.", "Second."])])


def test_a_plain_rss_document_is_read_fast_and_as_feedparser_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, fast, feedparsers = _both_ways(PLAIN_RSS.encode(), monkeypatch)
    assert fast
    assert ours == feedparsers
    assert ours is not None and ours.entries[0].paragraphs == [
        "Delegations met on Friday.",
        "Second.",
    ]


DC = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'
ATOM = 'xmlns="http://www.w3.org/2005/Atom"'


def _rss(inside_item: str, namespaces: str = "", version: str = "2.0") -> str:
    item = f"<item><title>T</title><guid>g1</guid>{inside_item}</item>"
    return f'<rss version="{version}" {namespaces}><channel>{item}</channel></rss>'


@pytest.mark.parametrize(
    ("why", "document"),
    [
        ("not RSS 2.0", _rss("", version="0.91")),
        ("a DOCTYPE", "<!DOCTYPE rss>" + _rss("")),
        ("a DOCTYPE after a long comment", f"<!--{'x' * 5000}--><!doctype rss>" + _rss("")),
        ("xml:base", _rss("").replace("<channel>", '<channel xml:base="http://a/">')),
        ("markup in a text element", _rss("<description>a <b>b</b></description>")),
        ("an e-mail author", _rss("<dc:creator>a@b.org (A)</dc:creator>", DC)),
        ("media:keywords (categories)", _rss("<media:keywords>a, b</media:keywords>", MEDIA)),
        ("a C1 control character", _rss("<description>&#150;</description>")),
        ("not well-formed", _rss("<description>&nbsp;</description>")),
        ("another charset", '<?xml version="1.0" encoding="iso-8859-1"?>' + _rss("")),
        (
            "XHTML content",
            f'<feed {ATOM}><entry><id>x</id><content type="xhtml">'
            '<div xmlns="http://www.w3.org/1999/xhtml">a</div></content></entry></feed>',
        ),
    ],
)
def test_the_fast_reader_declines_what_it_cannot_be_sure_of(
    why: str, document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = document.encode("latin-1" if "iso-8859-1" in document else "utf-8")
    assert read_plain(body, url=URL, charset=None) is None, why
    ours, fast, feedparsers = _both_ways(body, monkeypatch)
    assert not fast
    assert ours == feedparsers
