"""A deterministic corpus of news feeds for the end-to-end benchmark (bench/run.py).

    corpus = Corpus(feeds=2000, items=30, seed=1, anchor=1_750_000_000)
    body = corpus.document(feed=17, version=0)     # bytes of feed 17 as first published
    corpus.document(17, version=1)                 # two new items, one edited, two dropped

The same (feeds, items, seed, anchor) always gives the same bytes, in any process and in
any order of calls: every item is drawn from its own seeded generator, so the feed server
and the benchmark (which parses the same documents with bare feedparser) agree without
sharing files.

What the feeds look like, so the pipeline's costs are those of real news:

* 60% RSS 2.0 (guid, pubDate, dc:creator, categories, media:content), 40% Atom (id,
  published/updated, author, categories, html summary/content).
* Half the feeds carry the full article (4 to 9 paragraphs of 25 to 80 words in
  `content:encoded` / Atom `content`), half only a summary of 1 to 3 paragraphs; about
  2.5 kB and 0.9 kB an item respectively, around 1.7 kB on average, like the news
  feeds in ../shared/corpus/real.
* Words: English function and newsroom words mixed with a Zipf-distributed made-up
  vocabulary (some of it with diacritics), real place and people names, curly quotes.
* Wire copy: a quarter of the items are stories from a shared wire pool, so the same
  paragraphs appear in several feeds (sometimes under the outlet's own lead, with a
  "Photo: AFP"-style credit line), as agency copy does.
* Version v of a feed adds NEW_PER_VERSION items on top, drops as many at the bottom and
  appends an update paragraph to the item that was newest before: what a publisher does
  between two polls.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property, lru_cache
from html import escape

NEW_PER_VERSION = 2

FUNCTION_WORDS = """the of to in and a for on that is said with was by as at from it he his
has have be are not an will its but they who this their had were which after would been
also more than one about two over new into up out against she her we last year told could
other them when all some there while during before since under what if no our may between
both three because most so where""".split()
NEWS_WORDS = """president minister government talks meeting officials spokesman military
forces security ministry foreign defence agreement ceasefire negotiations delegation
statement sanctions border region attack troops capital summit leaders deal parliament
election opposition police court report according friday monday tuesday wednesday
thursday saturday sunday week month people killed wounded city country international
prisoners exchange draft memorandum proposal round second first economy inflation prices
energy gas oil markets bank rates budget protest strike hospital storm flood fire""".split()
PLACES = """Istanbul Ankara Kyiv Moscow Washington Brussels Paris Berlin London Geneva
Doha Cairo Tehran Beijing Delhi Warsaw Vienna Rome Madrid Tokyo Seoul Riyadh""".split()
PEOPLE = """Putin Zelenskyy Erdoğan Trump Macron Scholz Lavrov Rubio Fidan Peskov Umerov
Medinsky Starmer Merz Tusk""".split()
SECTIONS = ["World", "Europe", "Politics", "Business", "Middle East", "Asia", "Americas"]
CREDITS = [
    "Photo: AFP",
    "Photo: Reuters",
    "(AP)",
    "Related news",
    "Read more",
    "© 2025 Example Media. All rights reserved.",
]
_SYLLABLES = """ka ro mi zen tal vor pe lu dra shi ni ko bal ter os ven ga ru li mar sto kel
an dor fi pra zo ul nek sa tov hil ber""".split()
_ACCENTED = "çğışöüéáñ"  # one made-up word in ten carries one of these
VOCABULARY = 12_000
WIRE_SHARE = 0.25  # of items that are wire copy


def _seed(*parts: object) -> int:
    """A stable 64-bit seed from parts (hash() of a str differs between processes)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class FeedShape:
    """What kind of feed one index is: format, full text or summaries, item spacing."""

    index: int
    atom: bool
    full_text: bool
    spacing: float  # seconds between two items
    host: str


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]


class Words:
    """The shared vocabulary and a fast way to draw news-like sentences from it."""

    def __init__(self, seed: int):
        rng = random.Random(_seed("vocabulary", seed))
        words: set[str] = set()
        while len(words) < VOCABULARY:
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
            if rng.random() < 0.1:
                at = rng.randrange(len(word))
                word = word[:at] + rng.choice(_ACCENTED) + word[at + 1 :]
            words.add(word)
        vocab = sorted(words)
        rng.shuffle(vocab)  # Zipf rank must not follow the alphabet
        # Drawing from one list with repeats is as fast as random.choice can be: the
        # mix is 40% function words, 12% newsroom words, 3% names, 45% Zipf vocabulary.
        zipf_cum = list(itertools.accumulate(1.0 / (r + 20) for r in range(len(vocab))))
        zipf = rng.choices(vocab, cum_weights=zipf_cum, k=30_000)
        total = len(zipf) / 0.45
        self.pool = zipf
        for group, share in ((FUNCTION_WORDS, 0.40), (NEWS_WORDS, 0.12), (PLACES + PEOPLE, 0.03)):
            self.pool += group * round(total * share / len(group))
        self.names = [
            f"{a.capitalize()} {b.capitalize()}"
            for a, b in zip(rng.sample(vocab, 400), rng.sample(vocab, 400), strict=True)
        ]

    def sentence(self, rng: random.Random) -> str:
        words = rng.choices(self.pool, k=rng.randint(9, 24))
        if rng.random() < 0.3:
            words[rng.randrange(1, len(words))] += ","
        text = " ".join(words)
        if rng.random() < 0.25:
            return f"“{text[0].upper()}{text[1:]},” {rng.choice(self.names)} said."
        return f"{text[0].upper()}{text[1:]}."

    def paragraph(self, rng: random.Random) -> str:
        return " ".join(self.sentence(rng) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))

    def title(self, rng: random.Random) -> str:
        words = rng.choices(self.pool, k=rng.randint(6, 11))
        words.insert(rng.randrange(len(words)), rng.choice(PLACES + PEOPLE))
        return " ".join(words).capitalize().replace("’", "'")


class Corpus:
    """N feeds of M items each; `document(feed, version)` renders one as bytes."""

    def __init__(self, feeds: int, items: int, *, seed: int = 1, anchor: float = 1.75e9):
        if feeds < 1 or items < 1:
            raise ValueError("a corpus needs at least one feed and one item")
        self.feeds, self.items, self.seed, self.anchor = feeds, items, seed, float(anchor)
        self.wire_stories = max(20, feeds * items // 40)

    @cached_property
    def words(self) -> Words:
        return Words(self.seed)

    def shape(self, feed: int) -> FeedShape:
        rng = random.Random(_seed("feed", self.seed, feed))
        return FeedShape(
            index=feed,
            atom=rng.random() < 0.4,
            full_text=rng.random() < 0.5,
            spacing=rng.uniform(1800, 7200),
            host=f"news{feed:04d}.example.com",
        )

    @lru_cache(maxsize=4096)  # noqa: B019 - a corpus lives as long as the benchmark
    def wire(self, story: int) -> Article:
        """One agency story; several feeds carry it (all of it or its first paragraphs)."""
        rng = random.Random(_seed("wire", self.seed, story))
        words = self.words
        return Article(
            words.title(rng), tuple(words.paragraph(rng) for _ in range(rng.randint(4, 8)))
        )

    def article(self, feed: int, seq: int, version: int) -> Article:
        """Item `seq` of `feed` as it reads at `version` (edited once it is superseded)."""
        shape = self.shape(feed)
        rng = random.Random(_seed("item", self.seed, feed, seq))
        words = self.words
        count = rng.randint(4, 9) if shape.full_text else rng.randint(1, 3)
        if rng.random() < WIRE_SHARE:
            # stories close in time are the ones outlets share: pick near this item's slot
            slot = (seq * self.wire_stories) // (self.items + 8 * NEW_PER_VERSION)
            story = self.wire((slot + rng.randrange(12)) % self.wire_stories)
            paragraphs = list(story.paragraphs[:count])
            if rng.random() < 0.4:
                paragraphs.insert(0, words.paragraph(rng))  # the outlet's own lead
            if rng.random() < 0.5:
                paragraphs.append(rng.choice(CREDITS))
            title = story.title if rng.random() < 0.6 else words.title(rng)
        else:
            title = words.title(rng)
            paragraphs = [words.paragraph(rng) for _ in range(count)]
        if self._edited(seq, version):
            paragraphs.append(f"Update: {words.paragraph(random.Random(_seed('edit', feed, seq)))}")
        return Article(title, tuple(paragraphs))

    def _edited(self, seq: int, version: int) -> bool:
        """Version w edits the item that was newest at version w-1."""
        offset = seq - (self.items - 1 - NEW_PER_VERSION)
        return (
            offset >= NEW_PER_VERSION
            and offset % NEW_PER_VERSION == 0
            and (offset // NEW_PER_VERSION <= version)
        )

    def published(self, feed: int, seq: int) -> float:
        shape = self.shape(feed)
        if seq >= self.items:  # published after the first poll
            return self.anchor + 60.0 * (seq - self.items + 1)
        jitter = random.Random(_seed("date", self.seed, feed, seq)).uniform(0, shape.spacing / 2)
        return self.anchor - (self.items - 1 - seq) * shape.spacing - jitter

    def sequence(self, version: int) -> range:
        """Item numbers in the document at `version`, newest first."""
        first = version * NEW_PER_VERSION
        return range(first + self.items - 1, first - 1, -1)

    def media_type(self, feed: int) -> str:
        return "application/atom+xml" if self.shape(feed).atom else "application/rss+xml"

    def document(self, feed: int, version: int = 0) -> bytes:
        """Feed `feed` at `version`, as UTF-8 bytes."""
        shape = self.shape(feed)
        render = _atom if shape.atom else _rss
        return render(self, shape, version).encode("utf-8")

    def item_count(self) -> int:
        return self.feeds * self.items


def _link(shape: FeedShape, seq: int) -> str:
    return f"https://{shape.host}/news/{seq // 100}/{seq:06d}-story.html"


def _html(paragraphs: tuple[str, ...]) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)


def _rss(corpus: Corpus, shape: FeedShape, version: int) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>News {shape.index:04d} World</title>\n<link>https://{shape.host}/</link>\n"
        f'<atom:link href="https://{shape.host}/rss.xml" rel="self" type="application/rss+xml"/>\n'
        "<description>World news, updated around the clock.</description>\n"
        "<language>en</language>\n<ttl>10</ttl>\n"
    ]
    for seq in corpus.sequence(version):
        art = corpus.article(shape.index, seq, version)
        rng = random.Random(_seed("meta", shape.index, seq))
        when = datetime.fromtimestamp(corpus.published(shape.index, seq), UTC)
        link = _link(shape, seq)
        summary = art.paragraphs[:1] if shape.full_text else art.paragraphs
        parts.append(
            f"<item>\n<title>{escape(art.title, quote=False)}</title>\n<link>{link}</link>\n"
            f'<guid isPermaLink="true">{link}</guid>\n'
            f"<pubDate>{format_datetime(when)}</pubDate>\n"
            f"<dc:creator>{escape(rng.choice(corpus.words.names))}</dc:creator>\n"
            + "".join(f"<category>{escape(c)}</category>\n" for c in rng.sample(SECTIONS, 2))
            + f"<description>{escape(_html(summary), quote=False)}</description>\n"
        )
        if shape.full_text:
            parts.append(
                f"<content:encoded><![CDATA[{_html(art.paragraphs)}]]></content:encoded>\n"
            )
        parts.append(
            f'<media:content url="https://cdn.{shape.host}/img/{seq:06d}.jpg" medium="image"'
            ' width="1200" height="800"/>\n</item>\n'
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts)


def _atom(corpus: Corpus, shape: FeedShape, version: int) -> str:
    updated = datetime.fromtimestamp(
        corpus.published(shape.index, corpus.sequence(version)[0]), UTC
    )
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>News {shape.index:04d} World</title>\n"
        f'<link rel="alternate" href="https://{shape.host}/"/>\n'
        f'<link rel="self" href="https://{shape.host}/atom.xml"/>\n'
        f"<id>tag:{shape.host},2025:feed</id>\n<updated>{updated.isoformat()}</updated>\n"
    ]
    for seq in corpus.sequence(version):
        art = corpus.article(shape.index, seq, version)
        rng = random.Random(_seed("meta", shape.index, seq))
        when = datetime.fromtimestamp(corpus.published(shape.index, seq), UTC).isoformat()
        summary = art.paragraphs[:1] if shape.full_text else art.paragraphs
        parts.append(
            f'<entry>\n<title type="html">{escape(art.title, quote=False)}</title>\n'
            f'<link rel="alternate" type="text/html" href="{_link(shape, seq)}"/>\n'
            f"<id>tag:{shape.host},2025:{seq}</id>\n"
            f"<published>{when}</published>\n<updated>{when}</updated>\n"
            f"<author><name>{escape(rng.choice(corpus.words.names))}</name></author>\n"
            + "".join(f'<category term="{escape(c)}"/>\n' for c in rng.sample(SECTIONS, 2))
            + f'<summary type="html">{escape(_html(summary), quote=False)}</summary>\n'
        )
        if shape.full_text:
            parts.append(
                f'<content type="html">{escape(_html(art.paragraphs), quote=False)}</content>\n'
            )
        parts.append("</entry>\n")
    parts.append("</feed>\n")
    return "".join(parts)


def main() -> None:
    """Print size figures of a corpus (a quick look at what the benchmark will serve)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, metavar="FEED", help="print this feed's document")
    args = parser.parse_args()
    corpus = Corpus(args.feeds, args.items, seed=args.seed)
    if args.show is not None:
        print(corpus.document(args.show).decode())
        return
    started = time.perf_counter()
    sizes = [len(corpus.document(i)) for i in range(args.feeds)]
    elapsed = time.perf_counter() - started
    total = sum(sizes)
    print(
        f"{args.feeds} feeds, {corpus.item_count()} items, {total / 1e6:.1f} MB "
        f"({total / corpus.item_count():,.0f} bytes/item), generated in {elapsed:.1f}s"
    )


if __name__ == "__main__":
    main()
