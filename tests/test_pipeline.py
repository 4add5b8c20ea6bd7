"""One poll end to end on a real local HTTP server and a real SQLite file.

Each test asserts what was stored (feed state, items, alerts), not just that nothing
raised: a bad feed must cost one logged failed poll, never a crash or a lost item.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import FeedServer
from tests.support.builders import Entry, make_config, rss
from watcher.cli import main
from watcher.config import Config
from watcher.fetch import Fetcher, FetchSettings
from watcher.pipeline import Poller, PollOutcome
from watcher.store import feeds as feed_store
from watcher.store import open_database

NOW = datetime.now(UTC)
TALKS = Entry(
    "talks-1",
    "Russia and Ukraine open talks in Istanbul",
    ["Delegations from Russia and Ukraine met in Istanbul on Friday for their first direct "
     "talks in three years, Turkish officials said."],
)  # fmt: skip
WEATHER = Entry(
    "weather-1",
    "Heatwave in Spain",
    ["Temperatures in Seville reached 44 degrees on Friday, the highest this year so far."],
)


def poll(config: Config, url: str, clock: float | None = None) -> PollOutcome:
    """Sync the config's feeds and poll the one at `url` once."""

    async def run() -> PollOutcome:
        db = open_database(config.database_path)
        try:
            feed_store.sync_feeds(db, config.feeds, NOW.timestamp())
            feed = feed_store.feed_by_url(db, url)
            assert feed is not None
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                kwargs = {"clock": (lambda: clock)} if clock is not None else {}
                return await Poller(db, config, fetcher, **kwargs).poll(feed)
        finally:
            db.close()

    return asyncio.run(run())


def feed_row(config: Config, url: str) -> feed_store.FeedState:
    db = open_database(config.database_path)
    try:
        state = feed_store.feed_by_url(db, url)
        assert state is not None
        return state
    finally:
        db.close()


def rows(config: Config, sql: str) -> list[tuple]:
    db = open_database(config.database_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_first_poll_stores_items_validators_and_queues_a_matching_alert(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/rss", rss([TALKS, WEATHER]), etag='"v1"')
    config = make_config(tmp_path, [url])
    outcome = poll(config, url)
    assert (outcome.status, outcome.ingest.new_items, outcome.ingest.alerts) == ("changed", 2, 1)
    state = feed_row(config, url)
    assert state.etag == '"v1"' and state.failures == 0 and state.items_seen == 2
    assert state.title == "Test feed"
    (payload,) = [json.loads(r[0]) for r in rows(config, "SELECT payload FROM alerts")]
    assert payload["type"] == "alert" and payload["kind"] == "new"
    assert payload["item"]["title"] == TALKS.title
    assert payload["topics"][0]["name"] == "istanbul-talks"
    assert "istanbul" in payload["topics"][0]["terms"]
    assert payload["item"]["paragraphs"] == list(TALKS.paragraphs)
    assert payload["item"]["feed"] == {"name": "Test feed", "url": url}


def test_etag_304_is_cheap_and_changes_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/rss", rss([TALKS]), etag='"v1"')
    config = make_config(tmp_path, [url])
    poll(config, url)
    outcome = poll(config, url)
    assert outcome.status == "not-modified"
    assert feed_server.requests_for("/rss")[-1].headers["if-none-match"] == '"v1"'
    assert rows(config, "SELECT COUNT(*) FROM items") == [(1,)]
    assert rows(config, "SELECT COUNT(*) FROM alerts") == [(1,)]


def test_an_identical_body_without_validators_is_not_parsed_again(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/rss", rss([TALKS]))
    config = make_config(tmp_path, [url])
    poll(config, url)
    assert poll(config, url).status == "unchanged"


def test_a_new_item_on_a_later_poll_alerts_once(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/rss", rss([WEATHER]), etag='"v1"')
    config = make_config(tmp_path, [url])
    assert poll(config, url).ingest.alerts == 0
    feed_server.update("/rss", body=rss([TALKS, WEATHER]), etag='"v2"')
    second = poll(config, url)
    assert (second.ingest.new_items, second.ingest.alerts) == (1, 1)
    feed_server.update("/rss", body=rss([TALKS, WEATHER]), etag='"v3"')
    assert poll(config, url).ingest.alerts == 0  # same items, new ETag: nothing new


def test_backfill_alerts_only_on_recent_items_of_a_new_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    old = Entry("old", TALKS.title + " (last week)", TALKS.paragraphs, NOW - timedelta(days=7))
    undated = Entry(
        "undated",
        "Ukraine says Istanbul negotiations will continue",
        ["Kyiv said the negotiations in Istanbul with Russia would continue next week."],
        None,
    )
    recent = Entry(
        "recent",
        "Russia and Ukraine agree prisoner swap at Istanbul talks",
        ["Both delegations agreed in Istanbul on a swap of one thousand prisoners each."],
        NOW - timedelta(hours=2),
    )
    url = feed_server.add("/rss", rss([old, undated, recent]))
    config = make_config(tmp_path, [url])
    outcome = poll(config, url)
    assert (outcome.ingest.new_items, outcome.ingest.silent, outcome.ingest.alerts) == (3, 2, 1)
    titles = [json.loads(p)["item"]["title"] for (p,) in rows(config, "SELECT payload FROM alerts")]
    assert titles == [recent.title]


def test_permanent_redirect_moves_the_feed_and_temporary_does_not(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    new_url = feed_server.add("/new", rss([WEATHER]))
    moved = feed_server.redirect("/old", new_url, status=301)
    temp = feed_server.redirect("/temp", new_url, status=302)
    config = make_config(tmp_path, [moved, temp])
    with caplog.at_level(logging.WARNING):
        assert poll(config, moved).ok
    assert feed_row(config, moved).url == new_url
    assert any("moved permanently" in r.getMessage() for r in caplog.records)
    assert poll(config, temp).ok
    assert feed_row(config, temp).url == temp


def test_410_retires_the_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/gone", "gone", status=410)
    config = make_config(tmp_path, [url])
    outcome = poll(config, url)
    assert outcome.status == "gone"
    state = feed_row(config, url)
    assert state.status == "gone" and state.next_due is None and state.last_error == "HTTP 410"


def test_429_retry_after_is_honoured(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/busy", "slow down", status=429, headers={"Retry-After": "3600"})
    config = make_config(tmp_path, [url])
    outcome = poll(config, url, clock=1_000_000.0)
    assert outcome.status == "failed" and "429" in (outcome.error or "")
    state = feed_row(config, url)
    assert state.next_due is not None and state.next_due >= 1_000_000.0 + 3600


def test_failures_back_off_and_a_success_resets_them(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = feed_server.add("/flaky", "oops", status=500)
    config = make_config(tmp_path, [url])
    with caplog.at_level(logging.DEBUG, logger="watcher.pipeline"):
        for _ in range(3):
            assert poll(config, url, clock=5000.0).status == "failed"
    state = feed_row(config, url)
    assert (state.failures, state.last_error, state.status) == (3, "HTTP 500", "active")
    assert state.next_due is not None and 5000.0 <= state.next_due <= 5000.0 + 6 * 3600
    # logged once at warning level, then quietly: no log line per retry
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and url in warnings[0].getMessage()
    feed_server.add("/flaky", rss([WEATHER]))
    assert poll(config, url).ok
    state = feed_row(config, url)
    assert (state.failures, state.last_error, state.failing_since) == (0, None, None)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: s.add("/x", rss([WEATHER]), trickle=0.5), "deadline"),
        (lambda s: s.add("/x", b"<rss>" + b"x" * 2_000_000), "over the 1MB limit"),
        (lambda s: s.add("/x", "<html><body>Not a feed</body></html>",
                         content_type="text/html"), ""),
        (lambda s: s.redirect("/x", "/x", status=302), "redirect loop"),
        (lambda s: s.add("/x", "nope", status=404), "HTTP 404"),
    ],
    ids=["trickle", "oversized", "html-page", "redirect-loop", "404"],
)  # fmt: skip
def test_a_bad_feed_is_one_failed_poll_with_the_reason(
    tmp_path: Path, feed_server: FeedServer, setup, reason: str
) -> None:
    url = setup(feed_server)
    config = make_config(tmp_path, [{"url": url, "timeout": "1s", "max_bytes": "1MB"}])
    outcome = poll(config, url)
    assert outcome.status == "failed"
    state = feed_row(config, url)
    assert state.failures == 1 and state.last_error
    assert reason.lower() in state.last_error.lower()


def test_a_gzip_bomb_is_stopped_and_recorded(
    tmp_path: Path, feed_server: FeedServer, gzip_bomb: bytes
) -> None:
    url = feed_server.add("/bomb", gzip_bomb, headers={"Content-Encoding": "gzip"})
    config = make_config(tmp_path, [{"url": url, "max_bytes": "1MB"}])
    assert poll(config, url).status == "failed"
    assert "over the 1MB limit (after decompression)" in (feed_row(config, url).last_error or "")


def test_a_feed_in_a_declared_legacy_charset_is_stored_correctly(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    entry = Entry("ru-1", "Переговоры в Стамбуле", ["Делегации России и Украины встретились."])
    body = rss([entry]).replace('encoding="utf-8"', 'encoding="windows-1251"')
    url = feed_server.add(
        "/ru", body.encode("windows-1251"), content_type="application/rss+xml; charset=windows-1251"
    )
    config = make_config(tmp_path, [url])
    assert poll(config, url).ok
    assert rows(config, "SELECT title FROM items") == [("Переговоры в Стамбуле",)]


def test_once_polls_every_feed_even_when_some_fail(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = feed_server.add("/good", rss([TALKS]))
    broken = feed_server.add("/broken", "<rss><channel><item><title>x", content_type="text/xml")
    down = feed_server.add("/down", "err", status=503)
    html_page = feed_server.add("/page", "<html><p>hello</p></html>", content_type="text/html")
    from tests.support.builders import write_config

    path = write_config(tmp_path, [good, broken, down, html_page])
    assert main(["--config", str(path), "once", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") >= 5
    assert "4 feeds polled" in out and "2 failed" in out
    assert "HTTP 503" in out
    config = make_config(tmp_path, [good, broken, down, html_page])
    assert feed_row(config, good).items_seen == 1
    assert feed_row(config, down).failures == 1


def test_once_with_an_invalid_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("feeds: 3\n")
    assert main(["--config", str(path), "once"]) == 2


SEED_LEAD = (
    "Russian President Vladimir Putin is open to high-level negotiations regarding the "
    "situation in Ukraine, but any such meeting must be preceded by concrete progress in talks "
    "between delegations, Kremlin spokesman Dmitry Peskov stated on Friday."
)


def test_the_seed_article_is_stored_with_its_lead_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    seed = Entry(
        "seed",
        "Putin Open to High-Level Ukraine Talks, But Progress Needed First, Says Kremlin",
        ["Photo: AFP", SEED_LEAD,
         "He noted that the Kremlin expects the Russian and Ukrainian draft memoranda to be "
         "discussed during the second round of talks in Istanbul.",
         "Related news", SEED_LEAD],
    )  # fmt: skip
    url = feed_server.add("/seed", rss([seed]))
    config = make_config(tmp_path, [url])
    outcome = poll(config, url)
    assert outcome.ingest.alerts == 1
    (stored,) = rows(config, "SELECT paragraphs FROM items")
    paragraphs = json.loads(stored[0])
    assert paragraphs.count(SEED_LEAD) == 1
    (payload,) = rows(config, "SELECT payload FROM alerts")
    alert_paragraphs = json.loads(payload[0])["item"]["paragraphs"]
    assert alert_paragraphs.count(SEED_LEAD) == 1
    assert "Photo: AFP" not in alert_paragraphs and "Related news" not in alert_paragraphs


def test_an_edited_item_alerts_as_an_update_with_only_its_new_paragraph(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/rss", rss([TALKS]))
    config = make_config(tmp_path, [url])
    poll(config, url)
    added = (
        "Ukraine's delegation said later that Russia had proposed a second round of talks in "
        "Istanbul at the start of June."
    )
    edited = Entry(TALKS.guid, TALKS.title, [*TALKS.paragraphs, added])
    feed_server.add("/rss", rss([edited]))
    outcome = poll(config, url)
    assert (outcome.ingest.new_items, outcome.ingest.updated_items, outcome.ingest.alerts) == (
        0, 1, 1
    )  # fmt: skip
    first, update = [
        json.loads(p) for (p,) in rows(config, "SELECT payload FROM alerts ORDER BY created, rowid")
    ]
    assert update["kind"] == "update"
    assert update["item"]["paragraphs"] == [added]
    assert update["thread"] == first["id"] and update["id"] != first["id"]
    # a typo fix is an edit with nothing new: no alert
    fixed = Entry(
        TALKS.guid, TALKS.title, [*TALKS.paragraphs, added.replace("Ukraine's", "Ukraines")]
    )
    feed_server.add("/rss", rss([fixed]))
    outcome = poll(config, url)
    assert (outcome.ingest.updated_items, outcome.ingest.alerts) == (1, 0)


def test_a_republication_sends_nothing_and_is_linked_to_the_original(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    a = feed_server.add("/a", rss([TALKS], title="Outlet A"))
    copy = Entry("b-77", "Istanbul: Russia, Ukraine begin talks", TALKS.paragraphs)
    b = feed_server.add("/b", rss([copy], title="Outlet B"))
    config = make_config(tmp_path, [a, b])
    assert poll(config, a).ingest.alerts == 1
    outcome = poll(config, b)
    assert (outcome.ingest.republications, outcome.ingest.alerts) == (1, 0)
    from watcher.store import outbox

    db = open_database(config.database_path)
    try:
        (original_id,) = db.execute("SELECT item_id FROM alerts").fetchone()
        assert outbox.also_reported_by(db, original_id) == [
            {"feed": "Outlet B", "title": copy.title, "link": None}
        ]
    finally:
        db.close()
