"""parse_feed over the shared corpus: ~2,900 real and test feeds, none may crash it.

The corpus lives next to the repository (`../shared/corpus`); without it these tests skip.
One test per corpus folder, so a failure names the collection it came from.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date
from pathlib import Path

import feedparser
import pytest

import watcher.parse_xml
from watcher.errors import ParseError
from watcher.parse import parse_feed
from watcher.urls import canonical_url

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ISTANBUL = CORPUS / "real" / "istanbul-2025"

# Files that are genuinely no feed: the only ones allowed to raise ParseError.
NOT_FEEDS = frozenset(
    {
        "feedparser/illformed/rss_empty_document.xml",  # a comment and nothing else
        "real/gofeed/parser/json/invalid/invalid.json",  # broken JSON
        "real/gofeed/parser/universal/empty_feed.xml",  # empty file
        "real/gofeed/parser/universal/invalid.json",  # broken JSON
        "real/gofeed/parser/universal/unknown_feed.xml",  # <note> document
        "real/miniflux/xml/testdata/iso88591.xml",  # <note>: an encoding test, not a feed
        "real/miniflux/xml/testdata/iso88591_utf8_mismatch.xml",  # <note> likewise
        "real/netnewswire/ScriptingNews.json",  # RSS-in-JSON, not JSON Feed
        "real/netnewswire/allthis-partial.json",  # JSON cut off mid-document
    }
)
MAX_PARSE_ERRORS = 15


def _folders() -> list[str]:
    """Corpus folders two levels down (feedparser/wellformed, real/gofeed, ...)."""
    if not CORPUS.is_dir():
        return ["(corpus absent)"]
    return sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.is_dir() and p.name != ".git"
    )


def _feed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.parametrize("folder", _folders())
def test_every_corpus_file_parses_or_is_no_feed(folder: str) -> None:
    """No corpus file raises anything but ParseError, and only files that are no feed do."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (../shared is absent)")
    files = _feed_files(CORPUS / folder)
    started = time.perf_counter()
    items, warned = 0, 0
    parse_errors: dict[str, str] = {}
    crashes: dict[str, str] = {}
    for path in files:
        name = str(path.relative_to(CORPUS))
        try:
            parsed = parse_feed(path.read_bytes(), url=f"https://corpus.example/{name}")
        except ParseError as exc:
            parse_errors[name] = str(exc)
            continue
        except Exception as exc:  # collected so one run reports every crash
            crashes[name] = repr(exc)
            continue
        items += len(parsed.items)
        warned += parsed.warning is not None
    elapsed = time.perf_counter() - started
    print(
        f"\n{folder}: {len(files)} files, {items} items, {warned} with warnings, "
        f"{len(parse_errors)} ParseErrors, {elapsed:.1f}s"
    )
    for name, reason in parse_errors.items():
        print(f"  ParseError {name}: {reason}")
    assert crashes == {}
    assert set(parse_errors) <= NOT_FEEDS, "a real feed was refused"
    assert len(parse_errors) <= MAX_PARSE_ERRORS


def test_not_feeds_list_is_current() -> None:
    """Every file listed as no feed still exists and still raises ParseError."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (../shared is absent)")
    for name in sorted(NOT_FEEDS):
        path = CORPUS / name
        assert path.is_file(), name
        with pytest.raises(ParseError):
            parse_feed(path.read_bytes())


def _istanbul_files() -> list[Path]:
    if not ISTANBUL.is_dir():
        pytest.skip(f"Istanbul corpus not found at {ISTANBUL} (../shared is absent)")
    return sorted(ISTANBUL.glob("*/*.xml"))


def test_istanbul_every_entry_becomes_an_item_with_key_title_link_and_date() -> None:
    """The 89 outlet-day files: every <item> is an Item with key, title, link and date."""
    files = _istanbul_files()
    assert len(files) >= 80
    total = 0
    for path in files:
        body = path.read_bytes()
        parsed = parse_feed(body, url=f"https://corpus.example/{path.name}")
        day = path.parent.name  # 2025-05-15 ...
        assert parsed.title, path
        assert parsed.items, f"{path}: no items"
        assert len(parsed.items) == body.count(b"<item>"), f"{path}: entries lost"
        keys = [item.key for item in parsed.items]
        assert len(set(keys)) == len(keys), f"{path}: duplicate keys"
        for item in parsed.items:
            assert item.key.startswith("guid:https://"), item  # every item has a permalink guid
            assert item.title.strip() == item.title and item.title, item
            assert item.link and item.link.startswith("http"), item
            assert item.published is not None, item
            assert item.published.utcoffset().total_seconds() == 0
            # entries are those first seen that day; a few were published a day earlier
            assert abs((item.published.date() - date.fromisoformat(day)).days) <= 2, (item, day)
        total += len(parsed.items)
    assert total == 2003  # as SOURCES.md counts them


def test_istanbul_talks_are_in_the_corpus_titles() -> None:
    """The story the corpus was gathered for is findable in item titles on the talks' days."""
    files = _istanbul_files()
    per_day: Counter[str] = Counter()
    for path in files:
        for item in parse_feed(path.read_bytes()).items:
            if re.search(r"istanbul|stambu", item.title, re.IGNORECASE):
                per_day[path.parent.name] += 1
    assert per_day["2025-05-15"] > 0
    assert per_day["2025-05-16"] > 0
    assert per_day["2025-06-02"] > 0


def test_istanbul_tracking_links_share_identity_with_clean_ones() -> None:
    """Links carrying ?traffic_source=rss / ?cmp=rss / ?utm_* canonicalize to clean URLs."""
    files = _istanbul_files()
    tracked = 0
    for path in files:
        for item in parse_feed(path.read_bytes()).items:
            assert item.link
            canonical = canonical_url(item.link)
            assert not re.search(r"[?&](utm_|traffic_source=|cmp=rss|source=rss)", canonical)
            tracked += canonical != item.link
    assert tracked > 500  # Al Jazeera, CBC, TVN24 and gazeta.pl decorate every link


CAPTURES = CORPUS / "real" / "cloudphone-rss-reader-news"
ENGLISH_NEWS = ("bbc_world", "aljazeera", "nyt", "nyt_home", "indiatoday", "mehr")


@pytest.mark.parametrize("name", ENGLISH_NEWS)
def test_item_keys_are_stable_across_captures_of_a_real_feed(name: str) -> None:
    """Seven captures of one publisher's feed: a story keeps one key in all of them.

    The BBC's guid gains `#1` when a story is edited; that must stay the same item.
    """
    captures = sorted(CAPTURES.glob(f"*/public/feeds/{name}.xml"))
    if not captures:
        pytest.skip(f"captures of {name} not found under {CAPTURES} (../shared is absent)")
    keys_by_story: dict[str, set[str]] = {}
    for path in captures:
        for item in parse_feed(path.read_bytes()).items:
            assert item.link
            keys_by_story.setdefault(canonical_url(item.link), set()).add(item.key)
    unstable = {link: keys for link, keys in keys_by_story.items() if len(keys) > 1}
    assert unstable == {}
    assert len(keys_by_story) >= 20


SANITIZER_TESTS = CORPUS / "feedparser" / "wellformed" / "sanitize"
# feedparser's hostile-markup tests whose text differs without its sanitizer (parse_xml
# turns it off): the "crazy" ones lose script text the sanitizer left behind, the rest
# keep a malformed comment or stray `<>` as literal text (escaped wherever it is shown).
UNSANITIZED_DIFFERS = frozenset(
    {
        "entry_content_crazy.xml",
        "entry_summary_crazy.xml",
        "entry_title_crazy.xml",
        "feed_title_crazy.xml",
        "item_content_encoded_crazy.xml",
        "item_content_encoded_script_nested_cdata.xml",
        "item_description_crazy.xml",
        "item_fullitem_crazy.xml",
        "xml_malicious_comment.xml",
        "xml_unclosed_comment.xml",
    }
)


def _items(path: Path) -> tuple:
    parsed = parse_feed(path.read_bytes(), url="https://corpus.example/feed")
    return parsed.title, [
        (i.key, i.title, i.author, i.categories, i.paragraphs) for i in parsed.items
    ]


def test_text_is_the_same_without_feedparsers_sanitizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_xml skips feedparser's HTML sanitizer (half its time); html_to_paragraphs
    must then drop what the sanitizer drops, or scripts and styles become item text."""
    if not SANITIZER_TESTS.is_dir():
        pytest.skip(f"feedparser's sanitizer tests not found at {SANITIZER_TESTS}")
    files = _feed_files(SANITIZER_TESTS)
    # feedparser both times (the fast reader of plain documents never sanitizes)
    monkeypatch.setattr(watcher.parse_xml, "read_plain", lambda *_args, **_kwargs: None)
    ours = {path.name: _items(path) for path in files}
    real_parse = feedparser.parse

    def sanitizing(*args, **kwargs):  # type: ignore[no-untyped-def]
        return real_parse(*args, **{**kwargs, "sanitize_html": True})

    monkeypatch.setattr(watcher.parse_xml.feedparser, "parse", sanitizing)
    sanitized = {path.name: _items(path) for path in files}
    differ = {name for name in ours if ours[name] != sanitized[name]}
    assert differ == UNSANITIZED_DIFFERS
    assert len(files) > 700
