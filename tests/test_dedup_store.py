"""Dedup against a real SQLite file: the stories DESIGN.md promises, across restarts.

Every step opens the database file afresh with a new DedupStore and closes it after, so
nothing can survive in memory between steps: state lives in SQLite.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from watcher.dedup import (
    DedupResult,
    DedupSettings,
    DedupStore,
    Status,
    Verdict,
    boilerplate_reason,
)
from watcher.model import Item
from watcher.store import items as item_store
from watcher.store.db import open_database
from watcher.text import normalize, split_plain_text

SEED = Path("/work/shared/seed/article.txt")
T0 = 1_750_000_000.0
HOUR = 3600.0
DAY = 86400.0
SETTINGS = DedupSettings()

WIRE_TITLE = "Putin Open to High-Level Ukraine Talks, But Progress Needed First, Says Kremlin"
WIRE = (
    "Russian President Vladimir Putin is open to high-level negotiations regarding the "
    "situation in Ukraine, but any such meeting must be preceded by concrete progress in talks "
    "between delegations, Kremlin spokesman Dmitry Peskov stated on Friday.",
    "“President Putin supports the possibility of a personal meeting with both President "
    "Zelenskyy and President Trump, but such contacts require good preparation,” Peskov told "
    "journalists.",
    "He noted that the Kremlin expects the Russian and Ukrainian draft memoranda to be discussed "
    "during the second round of talks in Istanbul and said the details of Russia’s proposal "
    "would not be made public at this stage.",
    "On broader security issues, Peskov emphasized that “the future of European security must "
    "be discussed with Europeans,” while the Istanbul talks will be limited to bilateral "
    "negotiations between Russia and Ukraine.",
    "The second round of peace talks between Russia and Ukraine is expected to take place in "
    "Istanbul on June 2, following earlier talks that included a prisoner swap.",
)
NEW_ON_TOPIC = (
    "Turkish Foreign Minister Hakan Fidan said on Saturday that Ankara had offered to host a "
    "leaders' meeting in Istanbul as soon as the delegations finish their work."
)


class World:
    """A database file visited one step at a time, reopened for every step."""

    def __init__(self, path: Path):
        self.path = path
        with self.session() as db:
            self.feeds = {
                name: db.execute(
                    "INSERT INTO feeds (config_url, url, name, created) VALUES (?, ?, ?, ?)",
                    (f"https://{name}.example/rss", f"https://{name}.example/rss", name, T0),
                ).lastrowid
                for name in ("A", "B", "C", "D", "E")
            }

    @contextlib.contextmanager
    def session(self) -> Iterator[sqlite_utils.Database]:
        db = open_database(self.path)
        try:
            yield db
        finally:
            db.conn.close()

    def publish(
        self, feed: str, item: Item, now: float, settings: DedupSettings = SETTINGS
    ) -> tuple[int, DedupResult]:
        """What the pipeline does for a new or edited item, in one transaction."""
        with self.session() as db:
            store = DedupStore(db)
            stored = item_store.find_items(db, self.feeds[feed], [item.key]).get(item.key)
            result = store.assess(
                item,
                item_id=stored.id if stored else None,
                is_update=stored is not None,
                now=now,
                settings=settings,
            )
            with db.atomic():
                if stored is None:
                    item_id = item_store.insert_item(db, self.feeds[feed], item, now)
                else:
                    item_id = stored.id
                    item_store.update_item(db, item_id, item, now)
                store.record(result, item_id=item_id, now=now)
            return item_id, result

    def fingerprints(self) -> int:
        with self.session() as db:
            return DedupStore(db).count()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "watcher.db")


def item(key: str, title: str, *paragraphs: str) -> Item:
    return Item(key=key, title=title, link=f"https://x.example/{key}", published=None,
                paragraphs=paragraphs)  # fmt: skip


def seed_item() -> Item:
    title, *paragraphs = split_plain_text(SEED.read_text(encoding="utf-8"))
    return item("guid:seed", title, *paragraphs)


def test_seed_article_counts_its_repeated_lead_once_and_credits_are_not_content(world):
    """The raw seed (not passed through drop_repeats): lead once, title repeat dropped,
    "Photo: AFP" and "Related news" are boilerplate, never new content."""
    seed = seed_item()
    lead = seed.paragraphs[2]
    assert seed.paragraphs.count(lead) == 2  # the page really repeats it
    _, result = world.publish("A", seed, T0)
    assert result.verdict is Verdict.NEW and result.title_is_new
    assert result.new_paragraphs.count(lead) == 1
    assert "Photo: AFP" not in result.new_paragraphs
    assert "Related news" not in result.new_paragraphs
    assert seed.title not in result.new_paragraphs
    by_text = {}
    for p in result.paragraphs:
        by_text.setdefault(p.text, []).append(p)
    assert [p.status for p in by_text["Photo: AFP"]] == [Status.BOILERPLATE]
    assert [p.status for p in by_text["Related news"]] == [Status.BOILERPLATE]
    assert [p.status for p in by_text[lead]] == [Status.NEW, Status.REPEAT]
    assert [p.status for p in by_text[seed.title]] == [Status.REPEAT]
    assert result.substantive == 8
    # stored: the title and the 8 distinct content paragraphs, nothing else
    assert world.fingerprints() == 9


def test_wire_copy_republished_with_small_edits_links_to_the_original(world):
    """A is new; B and C (new headlines; a word, quotes, "stated"→"said" changed; a
    paragraph dropped, a credit added) are republications of A; D, which adds one new
    on-topic paragraph to part of the copy, alerts with that paragraph and its title."""
    a_id, a = world.publish("A", item("guid:a", WIRE_TITLE, *WIRE), T0)
    assert a.verdict is Verdict.NEW
    assert a.new_paragraphs == list(WIRE)

    b_paragraphs = (
        WIRE[0].replace("stated", "said"),
        WIRE[1].replace("“", '"').replace("”", '"'),
        WIRE[2].replace("expects", "hopes"),
        *WIRE[3:],
    )
    b_item = item("guid:b", "Kremlin: Putin ready to meet Zelenskyy", *b_paragraphs)
    b_id, b = world.publish("B", b_item, T0 + HOUR)
    assert b.verdict is Verdict.REPUBLICATION
    assert b.original_item_id == a_id
    assert b.new_paragraphs == []
    hows = [p.first_seen.how for p in b.paragraphs if p.first_seen]
    assert hows == ["near", "exact", "near", "exact", "exact"]  # quotes are normalized away
    assert all(p.first_seen.item_id == a_id for p in b.paragraphs if p.first_seen)

    c_paragraphs = (
        "Photo: Reuters",
        WIRE[0].replace("Friday", "Saturday").replace("stated", "said"),
        *WIRE[1:4],
    )
    c_item = item("guid:c", "Peskov: summit needs preparation", *c_paragraphs)
    _, c = world.publish("C", c_item, T0 + 2 * HOUR)
    assert c.verdict is Verdict.REPUBLICATION
    assert c.original_item_id == a_id  # not B, which only repeated A

    d_paragraphs = (*WIRE[:3], NEW_ON_TOPIC)
    d_item = item("guid:d", "Turkey offers to host Putin-Zelenskyy summit", *d_paragraphs)
    _, d = world.publish("D", d_item, T0 + 3 * HOUR)
    assert d.verdict is Verdict.NEW
    assert d.new_paragraphs == [NEW_ON_TOPIC]
    assert d.title_is_new
    assert d.old_substantive == 3 and d.substantive == 4
    assert b_id != a_id
    assert [p.status for p in d.paragraphs] == [Status.OLD] * 3 + [Status.NEW]


def test_an_edit_adding_a_paragraph_alerts_with_it_and_a_typo_fix_yields_nothing(world):
    typo = WIRE[2].replace("memoranda", "memorandda")
    first = item("guid:live", WIRE_TITLE, WIRE[0], WIRE[1], typo)
    item_id, result = world.publish("A", first, T0)
    assert result.verdict is Verdict.NEW

    added = item("guid:live", WIRE_TITLE, WIRE[0], WIRE[1], typo, NEW_ON_TOPIC)
    same_id, update = world.publish("A", added, T0 + HOUR)
    assert same_id == item_id
    assert update.verdict is Verdict.UPDATE
    assert update.new_paragraphs == [NEW_ON_TOPIC]
    assert not update.title_is_new
    assert all(p.status is Status.OWN for p in update.paragraphs[:3])

    fixed = item("guid:live", WIRE_TITLE.replace("Talks", "talks"), WIRE[0], WIRE[1], WIRE[2],
                 NEW_ON_TOPIC)  # fmt: skip
    _, nothing = world.publish("A", fixed, T0 + 2 * HOUR)
    assert nothing.verdict is Verdict.NOTHING_NEW
    assert nothing.new_paragraphs == []
    assert nothing.paragraphs[2].first_seen.how == "near"


def test_an_update_is_never_a_republication_of_its_own_earlier_version(world):
    world.publish("A", item("guid:x", WIRE_TITLE, *WIRE), T0)
    _, again = world.publish("A", item("guid:x", "New headline on the same copy", *WIRE), T0 + HOUR)
    assert again.verdict is Verdict.UPDATE
    assert again.original_item_id is None
    assert again.title_is_new and again.new_paragraphs == []


def test_unrelated_stories_sharing_a_stock_sentence_are_not_republications(world):
    stock = "The Kremlin did not respond to a request for comment on the report."
    gas = item(
        "guid:gas",
        "EU agrees to phase out Russian gas imports by 2027",
        "European Union energy ministers agreed on Monday to phase out the remaining imports "
        "of Russian pipeline gas and liquefied natural gas by the end of 2027.",
        "The plan still needs the approval of the European Parliament, where a majority of "
        "lawmakers have backed a faster timetable.",
        stock,
    )
    grain = item(
        "guid:grain",
        "Black Sea grain shipments rise despite drone attacks",
        "Grain exports from Ukraine's Black Sea ports rose by a fifth in May, according to "
        "data from the country's agriculture ministry published on Tuesday.",
        "Insurers said premiums for ships calling at Odesa had fallen for a third month as "
        "naval escorts reduced the number of attacks.",
        stock.replace("report", "figures"),
    )
    _, first = world.publish("A", gas, T0)
    _, second = world.publish("B", grain, T0 + HOUR)
    assert first.verdict is Verdict.NEW
    assert second.verdict is Verdict.NEW
    assert second.original_item_id is None
    assert second.paragraphs[2].status is Status.OLD  # the stock sentence was seen
    assert second.new_paragraphs == list(grain.paragraphs[:2])


def test_headline_only_items_are_decided_by_their_title(world):
    """Title + a short summary: a near-identical title from another feed within the
    window is a republication; a new title is new; an old title later is nothing new."""
    title = "Russia and Ukraine agree to second round of Istanbul talks on June 2"
    a_id, a = world.publish("A", item("guid:h1", title, "Talks resume Monday."), T0)
    assert a.verdict is Verdict.NEW and a.new_paragraphs == ["Talks resume Monday."]

    copy_title = title.replace("agree to", "agree on") + " - Reuters"
    _, b = world.publish("B", item("guid:h2", copy_title, "Second round set."), T0 + HOUR)
    assert b.verdict is Verdict.REPUBLICATION and b.original_item_id == a_id

    _, c = world.publish("C", item("guid:h3", "Zelenskyy names new chief negotiator"), T0 + HOUR)
    assert c.verdict is Verdict.NEW and c.title_is_new

    _, late = world.publish("D", item("guid:h4", title), T0 + 5 * DAY)
    assert late.verdict is Verdict.NOTHING_NEW and late.original_item_id is None


def test_pruning_removes_old_fingerprints_and_keeps_recent_ones(world):
    world.publish("A", item("guid:old", WIRE_TITLE, *WIRE[:2]), T0)
    world.publish("B", item("guid:new", "Another story entirely", *WIRE[2:4]), T0 + 20 * DAY)
    assert world.fingerprints() == 6
    with world.session() as db:
        removed = DedupStore(db).prune(T0 + 31 * DAY, 30 * DAY, batch=2)
    assert removed == 3
    assert world.fingerprints() == 3
    # what was pruned is new again; what was kept is still old
    _, again = world.publish("C", item("guid:again", "Again", *WIRE[:4]), T0 + 31 * DAY)
    assert [p.status for p in again.paragraphs] == [Status.NEW] * 2 + [Status.OLD] * 2


def test_deleting_an_original_item_drops_its_fingerprints_and_its_links(world):
    """No dangling references: a copy of a deleted (pruned) item simply finds nothing."""
    a_id, _ = world.publish("A", item("guid:a", WIRE_TITLE, *WIRE), T0)
    with world.session() as db, db.atomic():
        db.execute("DELETE FROM items WHERE id = ?", (a_id,))
    assert world.fingerprints() == 0
    _, b = world.publish("B", item("guid:b", "Copy", *WIRE), T0 + HOUR)
    assert b.verdict is Verdict.NEW and b.original_item_id is None


def test_record_inside_the_callers_transaction_is_rolled_back_with_it(world):
    """record() does not commit: when the caller's transaction fails, nothing is stored."""
    with world.session() as db:
        store = DedupStore(db)
        result = store.assess(item("guid:z", WIRE_TITLE, *WIRE), item_id=None, is_update=False,
                              now=T0, settings=SETTINGS)  # fmt: skip
        with pytest.raises(RuntimeError), db.atomic():
            item_id = item_store.insert_item(db, world.feeds["A"], item("guid:z", "t"), T0)
            store.record(result, item_id=item_id, now=T0)
            raise RuntimeError("crash before commit")
    assert world.fingerprints() == 0


def test_explanation_is_json_ready(world):
    _, result = world.publish("A", seed_item(), T0)
    data = json.loads(json.dumps(result.to_json()))
    assert data["verdict"] == "new"
    assert data["paragraphs"][0]["boilerplate_reason"] == "credit line"
    assert data["title"]["status"] == "new"
    _, copy = world.publish("B", item("guid:c", "Copy", *seed_item().paragraphs), T0 + 60)
    first = copy.to_json()["paragraphs"][2]["first_seen"]
    assert first["how"] == "exact" and first["first_seen"] == int(T0) and first["similarity"] == 1


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_an_exact_repeat_is_always_old_however_short(text):
    """Any text with words (one word included) is found again when repeated verbatim."""
    assume(normalize(text) and boilerplate_reason(text) is None)
    assume(normalize(text) not in ("first", "second"))
    db = open_database(":memory:")
    try:
        store = DedupStore(db)
        feed = db.execute(
            "INSERT INTO feeds (config_url, url, created) VALUES ('u', 'u', 0)"
        ).lastrowid
        first = item("guid:1", "First", text)
        result = store.assess(first, item_id=None, is_update=False, now=T0, settings=SETTINGS)
        assert result.paragraphs[0].status is Status.NEW
        with db.atomic():
            first_id = item_store.insert_item(db, feed, first, T0)
            store.record(result, item_id=first_id, now=T0)
        again = store.assess(item("guid:2", "Second", text), item_id=None, is_update=False,
                             now=T0 + 1, settings=SETTINGS)  # fmt: skip
        assert again.paragraphs[0].status is Status.OLD
        assert again.paragraphs[0].first_seen.how == "exact"
        assert again.paragraphs[0].first_seen.item_id == first_id
    finally:
        db.conn.close()


def test_schema_has_one_indexed_column_per_band(tmp_path):
    """Migration 3 is frozen; the sketch code must keep matching it."""
    from watcher.dedup.fingerprint import BANDS

    db = open_database(tmp_path / "schema.db")
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_fingerprints)")}
        indexed = {
            row[0]
            for row in db.execute(
                "SELECT i.name FROM pragma_index_list('dedup_fingerprints') AS l"
                " JOIN pragma_index_info(l.name) AS i"
            )
        }
        assert {f"band{i}" for i in range(BANDS)} <= columns
        assert f"band{BANDS}" not in columns
        assert {f"band{i}" for i in range(BANDS)} <= indexed
        assert "sketch" in columns and "text" not in columns  # no paragraph text stored
    finally:
        db.conn.close()
