"""Benchmark: topic matching throughput against feed parsing, for 10, 100 and 1,000 topics.

    .venv/bin/python bench/match.py [--items 10000] [--seed 7]

Builds 10,000 realistic items (word frequencies drawn from the real Istanbul-2025
corpus in ../shared when present, else a synthetic Zipf vocabulary), writes them as
100 RSS documents, times `feedparser.parse` on them (and `watcher.parse.parse_feed`,
which the daemon uses, when it exists), turns the items into Documents, and times
`TopicIndex.match` over all of them for generated topic sets of 10, 100 and 1,000
queries (terms, prefixes, phrases, @aliases with Cyrillic spellings, NEAR, NOT, field
scopes, a few unanchorable ones). For comparison it also times evaluating every topic on
every item without the index (on a sample of items, to keep the run short).

Nothing here is asserted; it prints figures. The claim to check by eye: at 1,000 topics,
preparing and matching an item costs less than parsing it.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.model import Item
from watcher.query import Document, Query, TopicIndex, parse_query
from watcher.text import html_to_paragraphs, normalize

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real" / "istanbul-2025"
FEEDS = 100
TOPIC_COUNTS = (10, 100, 1000)
NAIVE_SAMPLE = 1000

# People and places the generated news and topics talk about, with alias spellings.
ALIAS_GROUPS = {
    "putin": ["putin", "путин*", "vladimir putin"],
    "zelenskyy": ["zelensk*", "зеленск*", "volodymyr zelensky"],
    "erdogan": ["erdogan", "erdoğan", "эрдоган*"],
    "trump": ["trump", "трамп*", "donald trump"],
    "macron": ["macron", "макрон*", "emmanuel macron"],
    "rubio": ["rubio", "рубио", "marco rubio"],
    "peskov": ["peskov", "песков*", "dmitry peskov"],
    "medinsky": ["medinsky", "miedinski", "мединск*"],
    "umerov": ["umerov", "umierow", "умеров*"],
    "lavrov": ["lavrov", "ławrow", "лавров*"],
}
NAMES = ["Putin", "Zelenskyy", "Erdogan", "Trump", "Macron", "Rubio", "Peskov", "Путин"]
PLACES = ["Istanbul", "Ankara", "Kyiv", "Moscow", "Türkiye", "Brussels", "Washington"]


# -- vocabulary --------------------------------------------------------------------------


def load_vocabulary(rng: random.Random) -> tuple[list[str], list[int], list[tuple[str, str]]]:
    """Words with their frequencies and the frequent bigrams, from the real corpus if
    it is there (so word lengths, Zipf tail and shared prefixes are real)."""
    counts: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    files = sorted(CORPUS.glob("*/*.xml")) if CORPUS.is_dir() else []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for block in re.findall(r"<(?:title|description)>(.*?)</", text, re.S):
            block = re.sub(r"https?://\S+|&[#\w]+;|<[^>]*>", " ", block)
            words = re.findall(r"[^\W\d_]{2,}", block)
            counts.update(words)
            bigrams.update(itertools.pairwise(words))
    if not counts:  # synthetic fallback: Zipf over made-up words of realistic length
        letters = "etaoinshrdlcumwfgypbvk"
        for rank in range(1, 8000):
            word = "".join(rng.choice(letters) for _ in range(rng.randint(2, 11)))
            counts[word] += max(1, int(50000 / rank))
        words = list(counts)
        for _ in range(5000):
            bigrams[(rng.choice(words), rng.choice(words))] += 1
    for name in NAMES + PLACES:
        counts[name] += 20
    vocab = [w for w, _ in counts.most_common()]
    weights = [counts[w] for w in vocab]
    common_pairs = [pair for pair, n in bigrams.most_common(3000) if n >= 2]
    return vocab, weights, common_pairs


# -- items and RSS ------------------------------------------------------------------------


def make_items(n: int, rng: random.Random, vocab: list[str], weights: list[int]) -> list[dict]:
    """n items: a title of 6-12 words, 3-8 paragraphs of 20-60 words.

    Each item has a theme, as real articles do: half its words are frequent words, the
    other half come from ~40 content words drawn for that item, so a mid-frequency word
    is concentrated in some items instead of sprinkled over all of them."""
    common, common_weights = vocab[:150], weights[:150]
    rest, rest_weights = vocab[150:], weights[150:]
    start = datetime(2025, 5, 15, tzinfo=UTC)
    items = []
    for i in range(n):
        theme = rng.choices(rest, rest_weights, k=40)

        def words(k: int, theme: list[str] = theme) -> str:
            half = k // 2
            chosen = rng.choices(common, common_weights, k=k - half) + rng.choices(theme, k=half)
            rng.shuffle(chosen)
            return " ".join(chosen)

        paragraphs = []
        for _ in range(rng.randint(3, 8)):
            text = words(rng.randint(20, 60))
            paragraphs.append(text[0].upper() + text[1:] + ".")
        items.append(
            {
                "title": words(rng.randint(6, 12)).title(),
                "link": f"https://news{i % FEEDS}.example.org/a/{i}",
                "published": start + timedelta(minutes=i),
                "paragraphs": paragraphs,
                "author": rng.choice(["Jane Smith", "Ivan Petrov", "", "Ayşe Yılmaz"]),
            }
        )
    return items


def rss_documents(items: list[dict]) -> list[tuple[str, bytes]]:
    """The items spread over FEEDS RSS 2.0 documents, HTML paragraphs in <description>."""
    docs = []
    for f in range(FEEDS):
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>News {f}</title><link>https://news{f}.example.org/</link>"
            "<description>bench</description>"
        ]
        for item in items[f::FEEDS]:
            html = "".join(f"<p>{escape(p)}</p>" for p in item["paragraphs"])
            parts.append(
                f"<item><title>{escape(item['title'])}</title><link>{item['link']}</link>"
                f'<guid isPermaLink="true">{item["link"]}</guid>'
                f"<pubDate>{format_datetime(item['published'])}</pubDate>"
                f"<dc:creator>{escape(item['author'])}</dc:creator>"
                f"<description>{escape(html)}</description></item>"
            )
        parts.append("</channel></rss>")
        docs.append((f"https://news{f}.example.org/rss.xml", "".join(parts).encode()))
    return docs


def local_items(parsed: Any) -> list[Item]:
    """feedparser entries to Items the simple way (for when watcher.parse is absent)."""
    out = []
    for entry in parsed.entries:
        out.append(
            Item(
                key=f"guid:{entry.get('id', '')}",
                title=entry.get("title", ""),
                link=entry.get("link"),
                published=None,
                author=entry.get("author"),
                paragraphs=tuple(html_to_paragraphs(entry.get("summary", ""))),
            )
        )
    return out


# -- topics ---------------------------------------------------------------------------------


def make_topics(
    n: int, rng: random.Random, vocab: list[str], pairs: list[tuple[str, str]]
) -> list[tuple[str, Query]]:
    """n varied topic queries of the shapes users write."""
    # Topic words come from the middle of the frequency list: names, places, issues,
    # not "the" and not hapaxes.
    usable = [w for w in vocab[150:8000] if len(normalize(w)) >= 4]
    aliases = alias_groups(vocab)
    names = list(aliases)
    weights = [20 if name in ALIAS_GROUPS else 1 for name in names]  # famous ones recur

    def group() -> str:
        return "@" + rng.choices(names, weights)[0]

    def word() -> str:
        return normalize(rng.choice(usable))

    def prefix() -> str:
        stem = word()
        return stem[: max(4, len(stem) - rng.randint(1, 3))] + "*"

    def phrase() -> str:
        a, b = rng.choice(pairs) if pairs else (word(), word())
        return f'"{normalize(a)} {normalize(b)}"'

    def term() -> str:
        return rng.choice([word, word, prefix, phrase, lambda: group()])()

    shapes: list[Callable[[], str]] = [
        lambda: f"{word()} AND ({term()} OR {term()} OR {prefix()})",
        lambda: f"{term()} {term()}",
        lambda: (
            f"({group()} NEAR/{rng.randint(3, 15)} {group()})"
            f" AND ({prefix()} OR summit OR {phrase()})"
        ),
        lambda: f"{word()} AND ({term()} OR {term()}) AND NOT {word()}",
        lambda: f"title:{word()} OR ({term()} AND {term()})",
        lambda: f"{phrase()} AND ({group()} OR {word()})",
        lambda: f"{group()} NEAR {prefix()}",
        lambda: f"({word()} OR {word()} OR {word()}) AND ({term()} OR {term()})",
    ]
    topics = []
    for i in range(n):
        if i % 100 == 99:  # the occasional topic no index can help with
            text = rng.choice([f"/{word()}\\w* {word()}/", f"/\\b{word()}\\w*/ AND NOT {word()}"])
        else:
            text = rng.choice(shapes)()
        topics.append((f"topic-{i}", parse_query(text, aliases)))
    return topics


_CYRILLIC = str.maketrans("abvgdezijklmnoprstufhcy", "абвгдезийклмнопрстуфхцы")


def alias_groups(vocab: list[str]) -> dict[str, list[str]]:
    """The real groups plus one per proper noun of the vocabulary (capitalized words
    after the first hundred), each with a phrase, a prefix and a Cyrillic spelling, as
    a config following hundreds of people and places would have."""
    groups = dict(ALIAS_GROUPS)
    lower = {w for w in vocab if w.islower()}
    proper = [
        w
        for w in vocab[100:6000]
        if w[:1].isupper() and w.isalpha() and len(w) >= 4 and w.lower() not in lower
    ]
    for i, name in enumerate(proper[:400]):
        key = normalize(name)
        if key in groups:
            continue
        first = proper[(i * 7 + 3) % len(proper)]
        groups[key] = [key, f"{first} {name}", key.translate(_CYRILLIC) + "*", key + "s"]
    return groups


# -- run -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds `fn` takes, with the garbage collector's backlog cleared first (the bench
    holds far more objects than the daemon would, and their GC is no one's cost)."""
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--items", type=int, default=10_000)
    args.add_argument("--seed", type=int, default=7)
    options = args.parse_args(argv)
    rng = random.Random(options.seed)

    vocab, weights, pairs = load_vocabulary(rng)
    source = "real corpus" if CORPUS.is_dir() else "synthetic"
    raw = make_items(options.items, rng, vocab, weights)
    documents = rss_documents(raw)
    size = sum(len(body) for _, body in documents)
    n = len(raw)
    print(
        f"{n:,} items in {len(documents)} RSS documents ({size / 1e6:.1f} MB),"
        f" vocabulary of {len(vocab):,} words from the {source}"
    )

    rows: list[tuple[str, float]] = []
    seconds, parsed = timed(lambda: [feedparser.parse(body) for _, body in documents])
    rows.append(("feedparser.parse", seconds))
    try:
        from watcher.parse import parse_feed
    except ImportError:
        parse_feed = None
    if parse_feed is not None:
        seconds, feeds = timed(lambda: [parse_feed(body, url=url) for url, body in documents])
        rows.append(("watcher.parse.parse_feed (feedparser + Items)", seconds))
        items = [
            (item, f.title or "", url)
            for (url, _), f in zip(documents, feeds, strict=True)
            for item in f.items
        ]
    else:
        items = [
            (item, p.feed.get("title", ""), url)
            for (url, _), p in zip(documents, parsed, strict=True)
            for item in local_items(p)
        ]
    seconds, docs = timed(lambda: [Document.from_item(i, name, url) for i, name, url in items])
    rows.append(("Document.from_item (tokenize once)", seconds))
    parse_seconds = rows[-2][1] if parse_feed is not None else rows[0][1]
    prep_seconds = seconds
    for label, secs in rows:
        print(f"  {label:<48} {secs:7.2f} s  {len(docs) / secs:>10,.0f} items/s")

    print()
    print(
        f"{'topics':>7} {'always':>7} {'cand/item':>10} {'matches':>8}"
        f" {'match s':>8} {'match items/s':>14} {'prep+match items/s':>19}"
        f" {'no-index items/s':>17}"
    )
    for count in TOPIC_COUNTS:
        topics = make_topics(count, random.Random(options.seed + count), vocab, pairs)
        index = TopicIndex(topics)
        fresh = [Document.from_item(i, name, url) for i, name, url in items]  # cold caches
        seconds, results = timed(lambda index=index, fresh=fresh: [index.match(d) for d in fresh])
        matches = sum(len(r) for r in results)
        candidates = sum(len(index.candidates(d)) for d in fresh) / len(fresh)
        sample = [Document.from_item(i, name, url) for i, name, url in items[:NAIVE_SAMPLE]]
        naive, _ = timed(
            lambda topics=topics, sample=sample: [[q.match(d) for _, q in topics] for d in sample]
        )
        print(
            f"{count:>7} {len(index.always):>7} {candidates:>10.1f} {matches:>8,}"
            f" {seconds:>8.2f} {len(fresh) / seconds:>14,.0f}"
            f" {len(fresh) / (seconds + prep_seconds):>19,.0f}"
            f" {len(sample) / naive:>17,.0f}"
        )
    print()
    print(f"parsing: {n / parse_seconds:,.0f} items/s; matching must beat that at 1,000 topics.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
