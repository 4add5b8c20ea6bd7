"""The example topics of config/watcher.yaml against the seed article, decoys and a real
news corpus from the Istanbul talks (May–June 2025).

ORIGINAL holds the topic texts as first proposed; TUNED the texts recommended after
running both over the decoys and the real corpus: the original istanbul-talks also
fires on any Istanbul story that mentions Russia or Ukraine and talks (a Putin–Erdogan
energy meeting, a derby with a Ukrainian defender, Iran's nuclear talks), and misses
reports that say "Turkey"/"Türkiye" or are in Polish; the original
putin-zelenskyy-meeting fires on "Trump to call Putin and Zelenskyy" when "talks"
appears anywhere in the item, and misses inflected names (Путина, Zełenskim).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import yaml

from watcher.query import Document, Query, parse_query
from watcher.text import html_to_paragraphs, split_plain_text

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seed" / "article.txt"
CORPUS = SHARED / "corpus" / "real" / "istanbul-2025"
DECOYS = Path(__file__).parent / "data" / "decoys" / "decoys.yaml"

ORIGINAL_ALIASES = {
    "putin": ["putin", "путин", "vladimir putin"],
    "zelenskyy": [
        "zelenskyy",
        "zelensky",
        "zelenskiy",
        "zelenski",
        "volodymyr zelensky",
        "зеленский",
        "зеленський",
    ],
}
ORIGINAL = {
    "istanbul-talks": "istanbul AND (talks OR negotiat* OR memorand* OR delegation*)"
    " AND (russia* OR ukrain* OR kremlin OR kyiv OR moscow)",
    "putin-zelenskyy-meeting": '(@putin NEAR/15 @zelenskyy) AND (meet* OR summit OR "face to face"'
    " OR talks)",
}

# Alias spellings may end in * (inflected Polish/Russian forms: Putina, Путину, Zełenskim).
TUNED_ALIASES = {
    "putin": ["putin*", "путин*", "путін*", "vladimir putin"],
    "zelenskyy": ["zelensk*", "selensk*", "зеленск*", "зеленськ*", "volodymyr zelensky"],
}
TUNED = {
    # place AND talks AND a Russian side AND a Ukrainian/peace side, or a "Russia–Ukraine
    # talks" phrase without a place; English, Polish and Russian forms.
    "istanbul-talks": "((istanbul OR turkey OR turkiye OR stambul* OR turcj* OR стамбул*)"
    " AND (talks OR negotiat* OR memorand* OR delegation* OR rozmow* OR negocjac*"
    " OR delegacj* OR переговор*)"
    " AND (russia* OR kremlin OR moscow OR rosj* OR rosyj* OR kreml* OR moskw* OR росси*"
    " OR кремл*)"
    " AND (ukrain* OR kyiv OR kiev OR zelensk* OR kijow OR украин* OR peace OR ceasefire"
    " OR truce))"
    " OR ((russia* NEAR/4 ukrain*) NEAR/6 (talks OR negotiat*))",
    # the meeting word must be near the pair, not anywhere in the item
    "putin-zelenskyy-meeting": "(@putin NEAR/15 @zelenskyy) NEAR/10 (meet* OR summit"
    ' OR "face to face" OR "in person" OR "one on one" OR talks OR spotka* OR rozmow*'
    " OR встреч* OR зустріч* OR переговор*)",
}

# Key sentences of the seed article, so the seed test runs without ../shared.
SEED_ITEM = Document(
    title="Putin Open to High-Level Ukraine Talks, But Progress Needed First, Says Kremlin",
    paragraphs=[
        "Photo: AFP",
        "“President Putin supports the possibility of a personal meeting with both (Ukrainian)"
        " President (Volodymyr) Zelenskyy and (US) President (Donald) Trump, but such contacts"
        " require good preparation,” Peskov told journalists.",
        "He noted that the Kremlin expects the Russian and Ukrainian draft memoranda to be"
        " discussed during the second round of talks in Istanbul.",
    ],
)


def topics(which: str) -> dict[str, Query]:
    texts, aliases = (ORIGINAL, ORIGINAL_ALIASES) if which == "original" else (TUNED, TUNED_ALIASES)
    return {name: parse_query(text, aliases) for name, text in texts.items()}


def load_decoys() -> list[dict]:
    return yaml.safe_load(DECOYS.read_text(encoding="utf-8"))


def decoy_doc(decoy: dict) -> Document:
    return Document(title=decoy["title"], paragraphs=decoy["paragraphs"])


@pytest.mark.parametrize("which", ["original", "tuned"])
@pytest.mark.parametrize("topic", sorted(ORIGINAL))
def test_topic_matches_the_seed_item(which: str, topic: str) -> None:
    """Both versions of each example topic match the seed article's key sentences, and
    the explanation shows the terms in the article's own spelling."""
    match = topics(which)[topic].match(SEED_ITEM)
    assert match is not None
    assert match.terms
    assert match.snippet is not None and match.snippet.field == "body"
    marked = [match.snippet.text[s:e] for s, e in match.snippet.spans]
    expected = {"istanbul-talks": "Istanbul", "putin-zelenskyy-meeting": "Zelenskyy"}[topic]
    assert expected in marked


@pytest.mark.skipif(not SEED.exists(), reason=f"seed article not present at {SEED}")
@pytest.mark.parametrize("which", ["original", "tuned"])
@pytest.mark.parametrize("topic", sorted(ORIGINAL))
def test_topic_matches_the_seed_article(which: str, topic: str) -> None:
    """The seed article (first block the title, the rest paragraphs) matches each topic."""
    blocks = split_plain_text(SEED.read_text(encoding="utf-8"))
    doc = Document(title=blocks[0], paragraphs=blocks[1:])
    assert topics(which)[topic].match(doc) is not None


@pytest.mark.parametrize("decoy", load_decoys(), ids=lambda d: d["id"])
def test_tuned_topics_match_no_decoy(decoy: dict) -> None:
    """No decoy (same words, different story) matches a tuned example topic."""
    doc = decoy_doc(decoy)
    assert {name: q.match(doc) for name, q in topics("tuned").items() if q.match(doc)} == {}


@pytest.mark.parametrize("decoy", load_decoys(), ids=lambda d: d["id"])
def test_decoy_file_records_which_original_topics_it_fools(decoy: dict) -> None:
    """`catches` in decoys.yaml is exactly the set of original topics the decoy matches:
    the record of why the topics were tuned stays true."""
    doc = decoy_doc(decoy)
    fooled = {name for name, q in topics("original").items() if q.match(doc)}
    assert fooled == set(decoy["catches"])


@pytest.mark.parametrize(
    ("topic", "title", "paragraphs"),
    [
        (
            "istanbul-talks",
            "Rozmowy Ukrainy i Rosji w Stambule przesunięte",
            ["Rozmowy ukraińskiej i rosyjskiej delegacji w Stambule nie odbędą się w czwartek."],
        ),
        (
            "istanbul-talks",
            "Ukraine's Zelenskyy arrives in Turkey for talks with Russian delegation",
            [],
        ),
        ("istanbul-talks", "First Russia-Ukraine talks for years agree POW swap", []),
        ("istanbul-talks", "Переговоры России и Украины в Стамбуле завершились", []),
        ("putin-zelenskyy-meeting", "Kreml: Putin gotowy spotkać się z Zełenskim", []),
        ("putin-zelenskyy-meeting", "Путин готов к встрече с Зеленским", []),
        ("putin-zelenskyy-meeting", "Putin and Zelensky's missed meeting in Turkey", []),
    ],
)
def test_tuned_topics_catch_reports_the_original_misses(
    topic: str, title: str, paragraphs: list[str]
) -> None:
    """Headlines in Polish and Russian, or saying Turkey, or with inflected names match
    the tuned topic (most are real headlines from the corpus)."""
    doc = Document(title=title, paragraphs=paragraphs)
    assert topics("tuned")[topic].match(doc) is not None


# -- the real corpus -----------------------------------------------------------------------

REAL_TALKS = [
    "Ukraine’s Zelenskyy sends delegation for Russia talks after Putin no-show",
    "Russian delegation appears ‘decorative’, says Ukraine’s Zelenskyy",
    "‘Significant step’: Russia-Ukraine talks in Turkiye – what to expect",
    "Ukraine's Zelenskyy arrives in Turkey for talks with Russian delegation sent by no-show Putin",
    "Ukraine-Russia talks to begin in Turkey, without Putin",
    "Will Putin Be in Turkey for Peace Talks? Kremlin’s List Indicates Not.",
    "Ukraine, Russia agree to mass POW swap",
    "Istanbul talks highlight Turkiye’s balancing act between Russia and Ukraine",
    "First Russia-Ukraine talks for years agree POW swap - but last less than two hours",
    "Peace Talks Between Russia and Ukraine to Begin Amid Doubt and Chaos",
    "Rozmowy Ukrainy i Rosji w Stambule przesunięte.",
    "Koniec negocjacji w Stambule. Ukraina i Rosja zdecydowały w sprawie jeńców",
    "No ceasefire breakthrough after Russia-Ukraine peace talks in Istanbul",
    "Ukraine and Russia still far apart after peace talks but agree prisoner swap",
    "Russia-Ukraine direct talks: No ceasefire, but what did they agree to?",
]
REAL_MEETING = [
    "Could EU tariffs against Russia bring a ceasefire for Ukraine?",
    "Russia’s choice of low-level delegation puts Ukraine talks in doubt",
    "War in Ukraine: Putin and Zelensky's missed meeting in Turkey",
    "Kreml: Putin gotowy spotkać się z Zełenskim, ale są warunki",
    'Negocjacje pokojowe w Stambule. "Putin popełnił wielki błąd"',
]
REAL_NOT_TALKS = [
    "Iran and European powers to hold nuclear talks in Turkey",
    "Swedish journalist jailed in Turkey for insulting Ergodan is being released and repatriated",
    "5.8-Magnitude Earthquake Shakes Turkish Mediterranean Coast, Injuring 7 People",
    "Turkey Will Fine Airline Passengers Who Unbuckle Before the Plane Stops",
    "Hamas confirms direct peace talks with US - as it calls on Trump to 'pressure' Israel",
    "Marco Rubio Meets Syria’s Foreign Minister, in Another Sign of Warming Ties",
]
REAL_NOT_MEETING = [
    "Trump to Call Putin and Zelenskyy Monday in Bid to End Ukraine War",
    "Trump to speak with Putin, Zelenskyy on Monday",
    "Trump says he will call Putin on Monday to discuss stopping Ukraine 'bloodbath'",
    "Carney Meets Zelenskyy, Other World Leaders While in Rome for Pope’s Inaugural Mass",
    "Russia tells Ukrainians in occupied areas to get Russian passport or leave",
]


def corpus_items() -> Iterator[tuple[str, Document]]:
    """(title, document) of every item of every corpus file, summary as paragraphs."""
    for path in sorted(CORPUS.glob("*/*.xml")):
        feed = feedparser.parse(path.read_bytes())
        name = feed.feed.get("title", path.stem)
        for entry in feed.entries:
            title = entry.get("title", "")
            paragraphs = html_to_paragraphs(entry.get("summary", ""))
            yield title, Document(title=title, paragraphs=paragraphs, feed=name)


def holds(titles: set[str], start: str) -> bool:
    """Whether a title starting with `start` is among `titles` (the corpus keeps the
    crawler's mojibake, so titles are named by their clean beginning)."""
    return any(title.startswith(start) for title in titles)


@pytest.fixture(scope="module")
def corpus_matches() -> dict[str, set[str]]:
    """Titles of the corpus items each tuned topic matches (printed for inspection)."""
    if not CORPUS.is_dir():
        pytest.skip(f"real corpus not present at {CORPUS}")
    tuned = topics("tuned")
    found: dict[str, set[str]] = {name: set() for name in tuned}
    for title, doc in corpus_items():
        for name, query in tuned.items():
            if query.match(doc):
                found[name].add(title.strip())
    for name, titles in found.items():
        print(f"{name}: {len(titles)} items")
        for title in sorted(titles):
            print(f"  + {title}")
    return found


@pytest.mark.parametrize("title", REAL_TALKS)
def test_istanbul_talks_catches_real_reports(
    corpus_matches: dict[str, set[str]], title: str
) -> None:
    """Real reports of the talks (English and Polish, 'Istanbul' or 'Turkey') match."""
    assert holds(corpus_matches["istanbul-talks"], title)


@pytest.mark.parametrize("title", REAL_NOT_TALKS)
def test_istanbul_talks_skips_other_turkey_news(
    corpus_matches: dict[str, set[str]], title: str
) -> None:
    """Real items about Turkey or other talks in the same days do not match."""
    assert not holds(corpus_matches["istanbul-talks"], title)


@pytest.mark.parametrize("title", REAL_MEETING)
def test_meeting_topic_catches_real_reports(
    corpus_matches: dict[str, set[str]], title: str
) -> None:
    """Real reports about a (missed or proposed) Putin–Zelenskyy meeting match."""
    assert holds(corpus_matches["putin-zelenskyy-meeting"], title)


@pytest.mark.parametrize("title", REAL_NOT_MEETING)
def test_meeting_topic_skips_calls_and_other_meetings(
    corpus_matches: dict[str, set[str]], title: str
) -> None:
    """Phone calls with both leaders and Zelenskyy's other meetings do not match."""
    assert not holds(corpus_matches["putin-zelenskyy-meeting"], title)


def test_corpus_volume_is_plausible(corpus_matches: dict[str, set[str]]) -> None:
    """Out of ~2,000 items over six days, the talks topic catches a few dozen and the
    meeting topic about ten: enough to follow the story, far from everything."""
    assert 40 <= len(corpus_matches["istanbul-talks"]) <= 90
    assert 6 <= len(corpus_matches["putin-zelenskyy-meeting"]) <= 25


def test_the_default_config_ships_the_tuned_topics() -> None:
    """config/watcher.yaml holds exactly the topics and aliases these tests vouch for."""
    from watcher.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "config" / "watcher.yaml", {})
    assert config.settings.aliases == TUNED_ALIASES
    for name, text in TUNED.items():
        assert str(config.queries[name]) == str(parse_query(text, TUNED_ALIASES))
