"""Dedup decisions from lookups alone: no database, matches built by hand."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from watcher.dedup import DedupSettings, Match, Status, Verdict, decide, prepare
from watcher.dedup.decide import TITLE
from watcher.model import Item

NOW = 1_750_000_000.0
SETTINGS = DedupSettings()
LONG = [
    "Delegations from Moscow and Kyiv arrived in Istanbul late on Sunday evening.",
    "Turkish officials said the venue would again be the Dolmabahce palace offices.",
    "The Ukrainian side brought a list of prisoners it wants released in the next swap.",
    "Russian negotiators declined to say whether their memorandum had been finalised.",
    "Observers from Washington were expected to join the session on Monday afternoon.",
    "A ceasefire proposal drafted by European capitals was circulated among reporters.",
    "Analysts cautioned that expectations of a breakthrough remained very low indeed.",
    "The previous round, held in May, produced the largest prisoner exchange of the war.",
    "Both sides accused each other of stalling while fighting continued along the front.",
    "Markets in Moscow rose slightly on hopes that sanctions relief might be discussed.",
]


def make(title: str, *paragraphs: str) -> Item:
    return Item(key="guid:1", title=title, link=None, published=None, paragraphs=paragraphs)


def seen(item_id: int, *, own: bool = False, at: float = NOW - 3600, how: str = "exact") -> Match:
    return Match(1, item_id, at, how, 1.0 if how == "exact" else 0.8, own=own)


def run(item: Item, title_match, matches, *, is_update=False, settings=SETTINGS):
    return decide(prepare(item, settings), title_match, matches, is_update=is_update,
                  now=NOW, settings=settings)  # fmt: skip


def test_first_sighting_with_nothing_seen_is_all_new():
    result = run(make("Title here", *LONG[:3]), None, [None] * 3)
    assert result.verdict is Verdict.NEW
    assert result.new_paragraphs == LONG[:3] and result.title_is_new
    assert len(result.pending) == 4  # title + three paragraphs to record


def test_republication_threshold_counts_only_substantive_paragraphs():
    """4 of 5 long paragraphs old (80%) is a republication; short lines do not count."""
    item = make("Other title", *LONG[:5], "Short new line.")
    matches = [seen(7), seen(7), seen(9), seen(7), None, None]
    result = run(item, None, matches)
    assert result.verdict is Verdict.REPUBLICATION
    assert result.original_item_id == 7  # holds most of the old paragraphs
    assert result.old_share == pytest.approx(0.8)
    assert result.new_paragraphs == []
    # its new things are still recorded, so later copies of them are old
    assert len(result.pending) == 3


def test_below_the_threshold_the_item_is_new_with_only_its_new_paragraphs():
    item = make("Other title", *LONG[:4], "Short new line.")
    result = run(item, seen(3), [seen(7), seen(7), None, None, None])
    assert result.verdict is Verdict.NEW
    assert result.new_paragraphs == [LONG[2], LONG[3], "Short new line."]
    assert not result.title_is_new  # the title was seen: not part of the new content


def test_original_is_the_earliest_item_on_a_tie():
    item = make("T", *LONG[:4])
    matches = [seen(5, at=NOW - 10), seen(5, at=NOW - 10), seen(4, at=NOW - 99), seen(4)]
    assert run(item, None, matches).original_item_id == 4


def test_update_alerts_only_with_new_substantive_text_never_as_republication():
    item = make("T", *LONG[:3], "Updated 14:05.")
    all_own = [seen(1, own=True)] * 3 + [None]
    nothing = run(item, seen(1, own=True), all_own, is_update=True)
    assert nothing.verdict is Verdict.NOTHING_NEW  # a short line alone is not news
    copied = run(item, seen(1, own=True), [seen(8)] * 3 + [None], is_update=True)
    assert copied.verdict is Verdict.NOTHING_NEW and copied.original_item_id is None
    added = run(item, seen(1, own=True), [seen(1, own=True)] * 2 + [None, None], is_update=True)
    assert added.verdict is Verdict.UPDATE
    assert added.new_paragraphs == [LONG[2], "Updated 14:05."]


def test_headline_only_item_uses_the_title_and_its_window():
    item = make("Kremlin says talks will resume in Istanbul", "Talks resume Monday.")
    recent = run(item, seen(2, at=NOW - 3600), [None])
    assert recent.verdict is Verdict.REPUBLICATION and recent.original_item_id == 2
    old = run(item, seen(2, at=NOW - 3 * 86400), [None])
    assert old.verdict is Verdict.NOTHING_NEW and old.original_item_id is None
    fresh = run(item, None, [None])
    assert fresh.verdict is Verdict.NEW
    assert fresh.new_paragraphs == ["Talks resume Monday."]


def test_boilerplate_and_repeats_are_never_substantive_new_or_recorded():
    item = make("The headline", "Photo: AFP", LONG[0], "The headline", LONG[0].upper(),
                "Read more")  # fmt: skip
    prepared = prepare(item, SETTINGS)
    assert [p.sketch is None for p in prepared.paragraphs] == [True, False, True, True, True]
    assert prepared.paragraphs[2].repeat_of == TITLE
    assert prepared.paragraphs[3].repeat_of == 1
    result = run(item, None, [None] * 5)
    assert [p.status for p in result.paragraphs] == [
        Status.BOILERPLATE, Status.NEW, Status.REPEAT, Status.REPEAT, Status.BOILERPLATE
    ]  # fmt: skip
    assert result.new_paragraphs == [LONG[0]]
    assert result.substantive == 1


def test_near_repeat_within_an_item_is_dropped():
    lead = LONG[0] + " Officials met in the city on Friday to prepare the round."
    item = make("T", lead, lead.replace("Friday", "Saturday"))
    assert prepare(item, SETTINGS).paragraphs[1].repeat_of == 0


def test_lookups_must_match_paragraphs():
    with pytest.raises(ValueError):
        run(make("T", LONG[0]), None, [])


@given(st.integers(1, 10), st.integers(0, 9))
def test_verdict_follows_the_share_of_old_substantive_paragraphs(old, new):
    """REPUBLICATION exactly when old/(old+new) ≥ republish_threshold."""
    assume(old + new <= len(LONG))
    item = make("Fresh title", *LONG[: old + new])
    result = run(item, None, [seen(3)] * old + [None] * new)
    share = old / (old + new)
    expected = Verdict.REPUBLICATION if share >= 0.8 else Verdict.NEW
    assert result.verdict is expected


def test_untitled_short_post_is_judged_on_its_lines():
    """No title and no long paragraph (a channel's short post): never silently dropped."""
    item = make("", "Explosions heard in Kyiv.", "Air raid alert.")
    fresh = run(item, None, [None, None])
    assert fresh.verdict is Verdict.NEW
    assert fresh.new_paragraphs == ["Explosions heard in Kyiv.", "Air raid alert."]
    assert fresh.title.status is Status.BOILERPLATE and not fresh.title_is_new
    copied = run(item, None, [seen(4), seen(4)])
    assert copied.verdict is Verdict.REPUBLICATION and copied.original_item_id == 4


def test_prepared_items_survive_pickling_for_parse_workers():
    """prepare() may run in a worker process: its result must cross a process boundary."""
    import pickle

    prepared = prepare(make("Title here", "Photo: AFP", *LONG[:3], LONG[0]), SETTINGS)
    assert pickle.loads(pickle.dumps(prepared)) == prepared
