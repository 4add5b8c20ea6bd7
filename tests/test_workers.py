"""Parsing in worker processes (watcher.workers) and what the pipeline does with them.

Real processes throughout: a spawn pool, workers killed with real signals, a real SQLite
file for ingest. Each test names the behaviour it pins.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import watcher.model
import watcher.pipeline
from tests.support.builders import Entry, make_config, rss
from watcher.dedup import DedupSettings, prepare
from watcher.errors import ParseError
from watcher.fetch import Fetcher, FetchSettings
from watcher.model import Item, ParsedFeed
from watcher.parse import parse_feed
from watcher.pipeline import Ingestor, Poller
from watcher.prematch import FeedLabel, TopicContext
from watcher.query import parse_query
from watcher.runner import Progress, poll_all
from watcher.store import feeds as feed_store
from watcher.store import items as item_store
from watcher.store import open_database
from watcher.text import normalize
from watcher.workers import ParsePool, PreparedFeed, make_parse_pool, parse_job

LEAD = (
    "Delegations from Russia and Ukraine met in Istanbul on Friday for their first direct "
    "talks in three years, Turkish officials said."
)
SECOND = "The talks lasted under two hours and ended with an agreement on a prisoner exchange."
THIRD = "A second round is expected in Geneva next month, according to the foreign ministry."


def _document() -> bytes:
    return _rss(
        [
            Entry("a", "Istanbul talks open", [LEAD, SECOND]),
            Entry("b", "Prisoner exchange agreed", [SECOND, THIRD]),
            Entry("c", "Weather", ["Sunny and warm across the region for the rest of the week."]),
        ]
    )


def _rss(entries: list[Entry]) -> bytes:
    return rss(entries).encode()


def _die() -> None:
    """A job that kills the worker running it, as the OOM killer or a crash would."""
    os.kill(os.getpid(), signal.SIGKILL)


def _die_parsing(*_args: object) -> ParsedFeed:
    _die()
    raise AssertionError("unreachable")


@pytest.fixture
def pool() -> ParsePool:
    pool = ParsePool(1)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def test_parse_job_gives_the_items_parse_feed_gives() -> None:
    body = _document()
    assert (
        parse_job(body, "https://example.org/rss", None).items
        == parse_feed(body, url="https://example.org/rss").items
    )


def test_parsed_items_carry_their_content_hash_to_the_main_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker hashes; after pickling, the main process never hashes again."""
    shipped = pickle.loads(pickle.dumps(parse_job(_document(), "https://example.org/", None)))
    expected = [watcher.model.content_hash(i.title, i.paragraphs) for i in shipped.items]

    def no_hashing(*_args: object) -> str:
        raise AssertionError("content hash computed again in the main process")

    monkeypatch.setattr(watcher.model, "content_hash", no_hashing)
    assert [item.content_hash for item in shipped.items] == expected


def test_a_changed_copy_of_an_item_gets_its_own_content_hash() -> None:
    item = Item("guid:1", "Title", None, None, paragraphs=("One paragraph here.",))
    first = item.content_hash
    edited = dataclasses.replace(item, paragraphs=("Another paragraph here.",))
    assert edited.content_hash != first
    assert item.content_hash == first


def test_worker_prepares_dedup_only_for_items_not_stored_unchanged() -> None:
    settings = DedupSettings()
    body = _document()  # once: its entries are dated now, which a second boundary changes
    plain = parse_feed(body, url="https://example.org/")
    known = frozenset({plain.items[0].content_hash})
    parsed = parse_job(body, "https://example.org/", None, settings, known)
    assert isinstance(parsed, PreparedFeed)
    assert parsed.items == plain.items
    assert parsed.prepared[0] is None
    assert parsed.prepared[1:] == tuple(prepare(item, settings) for item in plain.items[1:])


def _ingest_all(
    tmp_path: Path,
    name: str,
    polls: list[tuple[int, bytes]],
    prepared: bool,
    monkeypatch: pytest.MonkeyPatch,
    pool: ParsePool | None = None,
) -> list:
    """Ingest each (feed number, document) in turn; return what the database then holds.

    With `prepared`, dedup's preparation is made by parse_job only: the main process's
    own `prepare` fails the test if it is called. With a `pool`, parse_job runs there
    and matches topics too (watcher.prematch); the last element returned is then how
    many items the main process matched itself.
    """
    urls = [f"https://example.org/{n}.xml" for n in range(max(n for n, _ in polls) + 1)]
    (tmp_path / name).mkdir()
    config = make_config(tmp_path / name, urls)
    db = open_database(config.database_path)
    try:
        feed_store.sync_feeds(db, config.feeds, time.time())
        ingestor = Ingestor(db, config)
        matched_here = 0
        real_match = ingestor.index.match

        def counted_match(document: object) -> list:
            nonlocal matched_here
            matched_here += 1
            return real_match(document)  # type: ignore[arg-type]

        monkeypatch.setattr(ingestor.index, "match", counted_match)
        if pool is not None:
            pool.use_topics(ingestor.topic_context)
        for number, body in polls:
            feed = feed_store.feed_by_url(db, urls[number])
            assert feed is not None
            known = item_store.content_hashes(db, feed.id)
            settings = ingestor.dedup_settings if prepared else None
            if pool is None:
                parsed = parse_job(body, urls[number], None, settings, known)
            else:
                label = FeedLabel(ingestor.topic_context.key, feed.name, feed.config_url, feed.url)
                job = pool.submit(parse_job, body, urls[number], None, settings, known, label)
                parsed = job.result(timeout=60)
            with monkeypatch.context() as patch:
                if prepared:
                    patch.setattr("watcher.dedup.store.prepare", _no_preparing)
                ingestor.ingest(feed, parsed, time.time())
        return [
            db.execute("SELECT feed_id, key, content_hash FROM items ORDER BY id").fetchall(),
            db.execute(
                "SELECT item_id, kind, exact FROM dedup_fingerprints ORDER BY id"
            ).fetchall(),
            db.execute("SELECT original_id, item_id FROM republications ORDER BY 1, 2").fetchall(),
            db.execute("SELECT item_id, channel, kind FROM alerts ORDER BY item_id").fetchall(),
            [
                {k: v for k, v in json.loads(payload).items() if k != "created"}
                for (payload,) in db.execute("SELECT payload FROM alerts ORDER BY item_id")
            ],
            matched_here,
        ]
    finally:
        db.close()


def _no_preparing(*_args: object) -> None:
    raise AssertionError("dedup preparation made again in the main process")


def test_ingest_decides_the_same_with_a_worker_preparation_as_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New items, a republication of wire copy and an edit: same rows either way."""
    update = "Update: Russian and Ukrainian delegations resumed the talks in Istanbul at night."
    wire = _rss([Entry("x", "Talks open in Istanbul", [LEAD, SECOND, THIRD])])
    copy = _rss([Entry("y", "Istanbul: talks begin", [LEAD, SECOND, THIRD, "Photo: AFP"])])
    edited = _rss([Entry("x", "Talks open in Istanbul", [LEAD, SECOND, THIRD, update])])
    polls = [(0, _document()), (1, wire), (2, copy), (1, edited), (1, edited)]
    with_workers = _ingest_all(tmp_path, "workers", polls, True, monkeypatch)
    without = _ingest_all(tmp_path, "plain", polls, False, monkeypatch)
    assert with_workers == without
    assert with_workers[2], "the copy should be recorded as a republication"
    assert ("update",) in {row[2:] for row in with_workers[3]}, "the edit should alert"


def test_topics_matched_in_a_worker_give_the_same_alerts_as_matched_in_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: ParsePool
) -> None:
    """Wholly new items are matched by the worker (watcher.prematch); an item with old
    content (the edit) is matched by the main process; the alerts are the same."""
    update = "Update: Russian and Ukrainian delegations resumed the talks in Istanbul at night."
    wire = _rss([Entry("x", "Talks open in Istanbul", [LEAD, SECOND, THIRD])])
    envoys = "In Istanbul, Russian and Ukrainian envoys said the talks would go on."
    partly_old = _rss([Entry("z", "Prisoners", [SECOND, envoys])])
    edited = _rss([Entry("x", "Talks open in Istanbul", [LEAD, SECOND, THIRD, update])])
    polls = [(0, _document()), (1, wire), (2, partly_old), (1, edited)]
    in_worker = _ingest_all(tmp_path, "workers", polls, True, monkeypatch, pool=pool)
    in_main = _ingest_all(tmp_path, "plain", polls, False, monkeypatch)
    assert in_worker[:-1] == in_main[:-1]
    assert len(in_worker[4]) == 3, "the first item, the partly new one and the edit alert"
    # 5 items may alert (a, b, c, z, the edit); the worker's match held for a and c,
    # wholly new, not for b, which repeats a paragraph of a
    assert (in_main[-1], in_worker[-1]) == (5, 3)


def test_a_worker_with_other_topics_leaves_matching_to_the_main_process(
    pool: ParsePool,
) -> None:
    """A result made with the topics of a config since reloaded is never used."""
    config_topics = TopicContext.of({"talks": parse_query("istanbul")})
    pool.use_topics(config_topics)
    label = FeedLabel("another-config", None, "https://example.org/", "https://example.org/")
    job = pool.submit(parse_job, _document(), "https://example.org/", None, DedupSettings(),
                      frozenset(), label)  # fmt: skip
    assert job.result(timeout=60).prematched == ()
    label = dataclasses.replace(label, topics_key=config_topics.key)
    job = pool.submit(parse_job, _document(), "https://example.org/", None, DedupSettings(),
                      frozenset(), label)  # fmt: skip
    matched = [[name for name, _ in m.matches] for m in job.result(timeout=60).prematched if m]
    assert matched == [["talks"], [], []]


def test_pool_parses_in_another_process_that_yields_the_cpu(pool: ParsePool) -> None:
    assert pool.submit(os.getpid).result(timeout=60) != os.getpid()
    # lower priority than ours, unless ours is already the lowest (tests run under nice 19)
    assert pool.submit(os.nice, 0).result(timeout=60) >= min(19, os.nice(0) + 1)


def test_a_worker_ignores_sigterm_so_the_main_process_decides_when_it_stops(
    pool: ParsePool,
) -> None:
    worker = pool.submit(os.getpid).result(timeout=60)
    os.kill(worker, signal.SIGTERM)
    time.sleep(0.2)
    assert pool.submit(os.getpid).result(timeout=60) == worker


PARENT = """
import os, signal, sys
from watcher.workers import ParsePool
pool = ParsePool(1)
print(pool.submit(os.getpid).result(timeout=60), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while we read
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_worker_exits_when_its_parent_is_killed() -> None:
    """kill -9 of the daemon must not leave parse workers behind, orphaned forever."""
    parent = subprocess.run(
        [sys.executable, "-c", PARENT], capture_output=True, text=True, timeout=60, check=False
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    worker = int(parent.stdout.strip())
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def test_a_dead_worker_costs_its_own_job_and_the_pool_replaces_itself(pool: ParsePool) -> None:
    with pytest.raises(BrokenProcessPool):
        pool.submit(_die).result(timeout=60)
    assert pool.submit(os.getpid).result(timeout=60) != os.getpid()


def test_the_pool_is_replaced_after_recycle_after_documents() -> None:
    pool = ParsePool(1, recycle_after=2)
    try:
        pids = [pool.submit(os.getpid).result(timeout=60) for _ in range(3)]
    finally:
        pool.shutdown()
    assert pids[0] == pids[1] != pids[2]


def test_terminate_stops_a_worker_busy_with_a_long_document_at_once() -> None:
    """SIGTERM must end the daemon within seconds, whatever a worker is parsing."""
    pool = ParsePool(1)
    worker = pool.submit(os.getpid).result(timeout=60)
    busy = pool.submit(time.sleep, 60)
    time.sleep(0.2)
    started = time.monotonic()
    pool.terminate()
    with pytest.raises(BrokenProcessPool):
        busy.result(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)
    assert time.monotonic() - started < 10


def test_no_job_is_accepted_after_shutdown() -> None:
    pool = ParsePool(1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(os.getpid)


def test_pool_size_follows_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("watcher.workers.usable_cores", lambda: 3)
    sized = make_parse_pool()
    assert sized is not None and sized.workers == 3
    sized.shutdown()
    monkeypatch.setattr("watcher.workers.usable_cores", lambda: 1)
    assert make_parse_pool() is None


def test_a_document_that_kills_its_worker_twice_is_a_parse_error_of_its_feed(
    tmp_path: Path, pool: ParsePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, ["https://example.org/rss"])
    monkeypatch.setattr(watcher.pipeline, "_parse_job", _die_parsing)

    async def parse() -> ParsedFeed:
        db = open_database(config.database_path)
        try:
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                poller = Poller(db, config, fetcher, executor=pool)
                return await poller._parse(_document(), "https://example.org/rss", None)
        finally:
            db.close()

    with pytest.raises(ParseError, match="parser process died"):
        asyncio.run(parse())
    assert pool.submit(os.getpid).result(timeout=60) != os.getpid()


class _CountingPoller:
    """Stands in for Poller in poll_all: records how many polls run at once."""

    def __init__(self) -> None:
        self.running = self.most = 0

    async def poll(self, feed: int) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.001)
        self.running -= 1
        return feed


def test_poll_all_keeps_at_most_limit_polls_in_flight_and_yields_every_outcome() -> None:
    poller = _CountingPoller()

    async def run() -> list[int]:
        return [o async for o in poll_all(poller, list(range(50)), Progress(0, False), limit=4)]  # type: ignore[arg-type]

    assert sorted(asyncio.run(run())) == list(range(50))
    assert poller.most == 4


def test_a_text_too_long_to_cache_is_normalized_the_same_way() -> None:
    assert normalize("Türkiye’s “talks” " * 2000) == " ".join(["turkiye s talks"] * 2000)
