"""Benchmark of the dedup stage at 10k, 100k and 1M stored paragraphs.

    .venv/bin/python bench/dedup.py                    # 1,000,000 paragraphs, a few minutes
    .venv/bin/python bench/dedup.py --paragraphs 100000

Generates deterministic news-like items (a Zipf vocabulary of made-up words mixed with
English function words and newsroom words, grouped into stories that share names and
topic words; about a fifth of items are wire copy republished with small edits, some are
partial rewrites, some headline-only, many carry boilerplate lines), runs them through
DedupStore.assess + record on a real SQLite file, and prints:

- paragraphs looked up (and the new ones inserted) per second of dedup work around 10k,
  100k and 1M stored paragraphs, items recorded one transaction each as the daemon does
  (median of three runs of 200 items), and the bulk load rate (many items per commit),
- database bytes per stored paragraph (dedup table and its indexes, from dbstat),
- the dedup stage's time per item (assess + record, one transaction per item, as the
  daemon does) beside feedparser's parse time per item for the same items as RSS,
- how the verdicts line up with what the generator did (a sanity check of quality).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser

from watcher.dedup import DedupSettings, DedupStore, Verdict
from watcher.model import Item
from watcher.store.db import open_database
from watcher.text import drop_repeats

FUNCTION_WORDS = """the of to in and a for on that is said with was by as at from it he
his has have be are not an will its but they who this their had were which after
would been also more than one about two over new into up out its against she her we
last year told could other them when officials all some there while during before
since under what if no our may between both three because most so where""".split()
NEWS_WORDS = """president minister government talks meeting officials spokesman military
forces security ministry foreign defence agreement ceasefire negotiations delegation
statement sanctions border region attack troops capital summit leaders deal parliament
election opposition police court report reuters according friday monday tuesday
wednesday thursday saturday sunday week month people killed wounded city country
international prisoners exchange draft memorandum proposal round second first""".split()
VERBS_SAID = ["said", "stated", "told reporters", "added", "noted", "said on friday"]
BOILERPLATE = [
    "Photo: AFP",
    "Photo: Reuters",
    "Related news",
    "Read more",
    "Continue reading...",
    "© 2025 Example News. All rights reserved.",
    "Advertisement",
]
_SYLLABLES = """ka ro mi zen tal vor pe lu dra shi ni ko bal ter os ven ga ru li
mar sto kel an dor fi pra zo ul nek sa tov hil ber""".split()


def _make_vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)  # Zipf rank must not follow the alphabet
    return ordered


@dataclass(frozen=True)
class GeneratedItem:
    key: str
    title: str
    paragraphs: tuple[str, ...]
    kind: str  # original | republication | rewrite | headline


class Corpus:
    """An endless, reproducible stream of items (same seed, same text)."""

    def __init__(self, seed: int = 1, vocabulary: int = 30_000):
        self.seed = seed
        self.rng = random.Random(seed)
        vocab = _make_vocabulary(self.rng, vocabulary)
        # Zipf weights: a handful of very common words, a long tail of rare ones.
        self.vocab = vocab
        self.vocab_cum = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(vocab))))
        self.names = [
            f"{a.capitalize()} {b.capitalize()}"
            for a, b in zip(self.rng.sample(vocab, 3000), self.rng.sample(vocab, 3000), strict=True)
        ]
        self.recent: list[GeneratedItem] = []  # originals that others may republish
        self.counter = 0
        self.story_words: list[str] = []
        self.story_names: list[str] = []
        self._new_story()

    def _new_story(self) -> None:
        rng = self.rng
        self.story_words = rng.choices(self.vocab, cum_weights=self.vocab_cum, k=12)
        self.story_words += rng.sample(NEWS_WORDS, 8)
        self.story_names = rng.sample(self.names, 4)

    def _word(self) -> str:
        r = self.rng.random()
        if r < 0.42:
            return self.rng.choice(FUNCTION_WORDS)
        if r < 0.62:
            return self.rng.choice(self.story_words)
        if r < 0.72:
            return self.rng.choice(NEWS_WORDS)
        return self.rng.choices(self.vocab, cum_weights=self.vocab_cum)[0]

    def sentence(self) -> str:
        rng = self.rng
        words = [self._word() for _ in range(rng.randint(9, 26))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words)), rng.choice(self.story_names))
        if rng.random() < 0.4:
            words[rng.randrange(1, len(words))] += ","
        text = " ".join(words)
        if rng.random() < 0.35:
            text = f"“{text.capitalize()},” {rng.choice(self.story_names)} {rng.choice(VERBS_SAID)}"
        return text[0].upper() + text[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3))))

    def title(self) -> str:
        words = [self._word() for _ in range(self.rng.randint(6, 12))]
        words.insert(0, self.rng.choice(self.story_names))
        return " ".join(words).title()

    def edit(self, paragraph: str) -> str:
        """A small edit: a word swapped, 'said' for 'stated', or quotes restyled."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.3 and " stated" in paragraph:
            return paragraph.replace(" stated", " said", 1)
        if choice < 0.5:
            return paragraph.replace("“", '"').replace("”", '"')
        words = paragraph.split(" ")
        for _ in range(rng.choice((1, 1, 2))):
            words[rng.randrange(len(words))] = self._word()
        return " ".join(words)

    def _key(self) -> str:
        self.counter += 1
        return f"guid:{self.seed}-{self.counter}"

    def item(self) -> GeneratedItem:
        rng = self.rng
        if rng.random() < 0.08:
            self._new_story()
        roll = rng.random()
        if roll < 0.22 and self.recent:
            source = rng.choice(self.recent)
            kept = [self.edit(p) if rng.random() < 0.4 else p for p in source.paragraphs]
            if len(kept) > 3 and rng.random() < 0.3:
                kept.pop()
            if rng.random() < 0.3:
                kept.insert(1, rng.choice(BOILERPLATE))
            return GeneratedItem(self._key(), self.title(), tuple(kept), "republication")
        if roll < 0.30 and self.recent:
            source = rng.choice(self.recent)
            half = list(source.paragraphs[: max(1, len(source.paragraphs) // 2)])
            fresh = [self.paragraph() for _ in range(rng.randint(2, 5))]
            return GeneratedItem(self._key(), self.title(), tuple(half + fresh), "rewrite")
        if roll < 0.40:
            return GeneratedItem(self._key(), self.title(), (self.sentence(),), "headline")
        paragraphs = [self.paragraph() for _ in range(rng.randint(5, 14))]
        if rng.random() < 0.5:
            paragraphs.insert(rng.randrange(len(paragraphs)), rng.choice(BOILERPLATE))
        item = GeneratedItem(self._key(), self.title(), tuple(paragraphs), "original")
        self.recent.append(item)
        if len(self.recent) > 2000:
            del self.recent[:1000]
        return item

    def __iter__(self) -> Iterator[GeneratedItem]:
        while True:
            yield self.item()


T0 = 1_750_000_000.0
FEEDS = 40
CHECKPOINTS = (10_000, 100_000, 1_000_000)
WINDOW_ITEMS = 500  # items per timed window; three windows around each checkpoint
FEED_ITEMS = 50  # items per RSS document given to feedparser
SAMPLE_ITEMS = 200  # items processed one transaction each, as the daemon does; three runs


@dataclass(frozen=True)
class Sample:
    """Items processed one transaction each, and the time they took."""

    items: list[GeneratedItem]
    paragraphs: int
    dedup_seconds: float  # assess + record
    total_seconds: float  # the same plus the item row and the commit

    @property
    def paragraphs_per_second(self) -> float:
        return self.paragraphs / self.dedup_seconds

    @property
    def ms_per_item(self) -> float:
        return self.dedup_seconds / len(self.items) * 1e3

    @property
    def ms_per_item_with_commit(self) -> float:
        return self.total_seconds / len(self.items) * 1e3


def to_item(generated: GeneratedItem) -> Item:
    """The Item watcher.parse would make: paragraphs through drop_repeats, as it does.

    (That also leaves their normal forms in watcher.text's small cache, where the
    pipeline's dedup finds them too.)
    """
    return Item(key=generated.key, title=generated.title, link=None, published=None,
                paragraphs=tuple(drop_repeats(list(generated.paragraphs))))  # fmt: skip


class Bench:
    def __init__(self, path: Path, seed: int, cache_mb: int | None = None):
        self.db = open_database(path)
        if cache_mb:
            self.db.execute(f"PRAGMA cache_size = -{cache_mb * 1024:d}")
        self.store = DedupStore(self.db)
        self.settings = DedupSettings()
        self.corpus = Corpus(seed)
        self.rng = random.Random(seed + 1)
        urls = [f"https://outlet{n}.example/rss" for n in range(FEEDS)]
        with self.db.atomic():
            for url in urls:  # an existing --db file already has them
                self.db.execute(
                    "INSERT OR IGNORE INTO feeds (config_url, url, created) VALUES (?, ?, ?)",
                    (url, url, T0),
                )
        self.feeds = [
            self.db.execute("SELECT id FROM feeds WHERE config_url = ?", (url,)).fetchone()[0]
            for url in urls
        ]
        self.now = T0
        self.stored = 0  # paragraph fingerprints stored
        self.paragraphs = 0  # paragraphs looked up
        self.items = 0
        self.verdicts: Counter[tuple[str, str]] = Counter()

    def process(self, generated: GeneratedItem) -> float:
        """assess + record one item (in the caller's transaction); seconds spent in dedup."""
        item = to_item(generated)  # the parse stage's work, not timed here
        self.now += 20.0
        started = time.perf_counter()
        result = self.store.assess(item, item_id=None, is_update=False, now=self.now,
                                   settings=self.settings)  # fmt: skip
        spent = time.perf_counter() - started
        item_id = self.db.execute(
            "INSERT INTO items (feed_id, key, title, content_hash, first_seen, last_seen)"
            " VALUES (?, ?, ?, '', ?, ?)",
            (self.rng.choice(self.feeds), item.key, item.title, self.now, self.now),
        ).lastrowid
        started = time.perf_counter()
        self.store.record(result, item_id=item_id, now=self.now)
        spent += time.perf_counter() - started
        self.items += 1
        self.paragraphs += len(item.paragraphs)
        self.stored += sum(1 for sk in result.pending if sk.kind == 0)
        self.verdicts[(generated.kind, result.verdict.value)] += 1
        return spent

    def load_until(self, target: int, batch: int) -> None:
        """Fill the table up to `target` stored paragraphs, `batch` items per transaction."""
        items = iter(self.corpus)
        while self.stored < target:
            with self.db.atomic():
                for generated in itertools.islice(items, batch):
                    self.process(generated)
                    if self.stored >= target:
                        break

    def window(self, batch: int, items: int = WINDOW_ITEMS) -> tuple[float, float, float]:
        """(paragraphs per second, per CPU second, share new) over the next `items` items."""
        generated = list(itertools.islice(self.corpus, items))
        paragraphs, stored = self.paragraphs, self.stored
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(generated), batch):
            with self.db.atomic():
                for one in generated[start : start + batch]:
                    self.process(one)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        looked = self.paragraphs - paragraphs
        return looked / wall, looked / cpu, (self.stored - stored) / looked

    def daemon_sample(self, items: int = SAMPLE_ITEMS) -> Sample:
        """The next `items` items one transaction each, as the daemon records them."""
        generated = list(itertools.islice(self.corpus, items))
        paragraphs = self.paragraphs
        dedup = total = 0.0
        for one in generated:
            started = time.perf_counter()
            with self.db.atomic():
                dedup += self.process(one)
            total += time.perf_counter() - started
        return Sample(generated, self.paragraphs - paragraphs, dedup, total)

    def dedup_bytes(self) -> tuple[int, int]:
        """(bytes of the dedup table and its indexes, fingerprints stored)."""
        size = self.db.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = 'dedup_fingerprints'"
            " OR name LIKE 'dedup_fingerprints_%'"
        ).fetchone()[0]
        rows = self.db.execute("SELECT count(*) FROM dedup_fingerprints").fetchone()[0]
        return int(size), int(rows)


def rss(items: list[GeneratedItem]) -> bytes:
    """The items as a realistic RSS 2.0 document (HTML bodies with links and a figure)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
           "<channel><title>Example World</title><link>https://example.org/</link>",
           "<description>News</description>"]  # fmt: skip
    for n, generated in enumerate(items):
        body = [
            f'<figure><img src="https://example.org/img/{n}.jpg" alt="photo"/>'
            "<figcaption>Photo: AFP</figcaption></figure>"
        ]
        for m, paragraph in enumerate(generated.paragraphs):
            words = escape(paragraph).split(" ")
            if m % 3 == 0 and len(words) > 4:
                words[2] = f'<a href="https://example.org/tag/{m}">{words[2]}</a>'
            if m % 4 == 1 and len(words) > 6:
                words[5] = f"<em>{words[5]}</em>"
            body.append(f"<p>{' '.join(words)}</p>")
        summary = escape(generated.paragraphs[0][:200]) if generated.paragraphs else ""
        out.append(
            f"<item><title>{escape(generated.title)}</title>"
            f"<link>https://example.org/news/{n}</link>"
            f'<guid isPermaLink="false">{generated.key}</guid>'
            "<pubDate>Fri, 30 May 2025 10:00:00 GMT</pubDate>"
            f"<description>{summary}</description>"
            f"<content:encoded><![CDATA[{''.join(body)}]]></content:encoded></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def feedparser_seconds_per_item(items: list[GeneratedItem], rounds: int = 3) -> float:
    """Median parse time per item, the items split into feeds of FEED_ITEMS."""
    total = 0.0
    for start in range(0, len(items), FEED_ITEMS):
        chunk = items[start : start + FEED_ITEMS]
        document = rss(chunk)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            parsed = feedparser.parse(document)
            times.append(time.perf_counter() - started)
        assert len(parsed.entries) == len(chunk)
        total += statistics.median(times)
    return total / len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=1_000_000,
                        help="stored paragraphs to reach (default 1,000,000)")  # fmt: skip
    parser.add_argument("--batch", type=int, default=200,
                        help="items per transaction while loading (default 200)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--cache-mb", type=int, default=None,
                        help="SQLite page cache (default: what open_database sets)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)

    checkpoints = sorted({c for c in CHECKPOINTS if c < args.paragraphs} | {args.paragraphs})
    with tempfile.TemporaryDirectory(prefix="watcher-bench-") as tmp:
        path = args.db or Path(tmp) / "dedup.db"
        bench = Bench(path, args.seed, args.cache_mb)
        started = time.perf_counter()
        rows = []
        sample: list[GeneratedItem] = []
        for checkpoint in checkpoints:
            bench.load_until(checkpoint, args.batch)
            at = bench.stored
            samples = sorted((bench.daemon_sample() for _ in range(3)),
                             key=lambda s: s.paragraphs_per_second)  # fmt: skip
            median = samples[1]
            sample = [one for s in samples for one in s.items]
            dedup_ms = sum(s.dedup_seconds for s in samples) / len(sample) * 1e3
            windows = [bench.window(args.batch) for _ in range(3)]
            bulk = statistics.median(w[0] for w in windows)
            new_share = statistics.median(w[2] for w in windows)
            rows.append({
                "stored": at,
                "paragraphs_per_second": round(median.paragraphs_per_second),
                "dedup_ms_per_item": round(median.ms_per_item, 3),
                "dedup_ms_per_item_with_commit": round(median.ms_per_item_with_commit, 3),
                "bulk_paragraphs_per_second": round(bulk),
                "new_share": round(new_share, 3),
            })  # fmt: skip
            print(
                f"{at:>9,} stored: {median.paragraphs_per_second:>7,.0f} paragraphs/s looked "
                f"up ({new_share:.0%} of them new, inserted); {median.ms_per_item:.3f} ms/item "
                f"({median.ms_per_item_with_commit:.3f} ms with the item's own commit); "
                f"bulk load {bulk:,.0f} paragraphs/s ({args.batch} items per commit)",
                flush=True,
            )
        load_seconds = time.perf_counter() - started
        size, fingerprints = bench.dedup_bytes()
        file_bytes = sum(
            os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if os.path.exists(p)
        )
        parse = feedparser_seconds_per_item(sample)
        paragraphs_per_item = statistics.mean(len(g.paragraphs) for g in sample)
        first, last = rows[0], rows[-1]
        print()
        print(f"items processed: {bench.items:,}; paragraphs looked up: {bench.paragraphs:,}; "
              f"fingerprints stored: {fingerprints:,} ({bench.stored:,} paragraphs + titles); "
              f"total time {load_seconds:.0f} s")  # fmt: skip
        ratio = last["paragraphs_per_second"] / first["paragraphs_per_second"]
        bulk_ratio = last["bulk_paragraphs_per_second"] / first["bulk_paragraphs_per_second"]
        print(f"rate at {last['stored']:,} vs {first['stored']:,} stored: {ratio:.2f}x "
              f"(bulk load: {bulk_ratio:.2f}x)")  # fmt: skip
        print(f"dedup table + indexes: {size / fingerprints:.0f} bytes per stored fingerprint, "
              f"{size / bench.stored:.0f} bytes per stored paragraph "
              f"(whole file with minimal items rows: {file_bytes / bench.stored:.0f})")  # fmt: skip
        print(f"per item ({paragraphs_per_item:.1f} paragraphs; the {len(sample)} items timed "
              f"at {last['stored']:,} stored): dedup {dedup_ms:.3f} ms vs feedparser parse "
              f"{parse * 1e3:.3f} ms of the same items as RSS ({FEED_ITEMS} per feed): "
              f"dedup/parse = {dedup_ms / (parse * 1e3):.2f}")  # fmt: skip
        print("verdicts by generated kind:")
        for kind in ("original", "republication", "rewrite", "headline"):
            counts = {v.value: bench.verdicts[(kind, v.value)] for v in Verdict}
            total = sum(counts.values()) or 1
            shares = ", ".join(f"{name} {n / total:.1%}" for name, n in counts.items() if n)
            print(f"  {kind:<13} {shares}")
        if args.json:
            print(json.dumps({"checkpoints": rows, "bytes_per_paragraph": size / bench.stored,
                              "feedparser_ms_per_item": parse * 1e3}))  # fmt: skip
        bench.db.conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
