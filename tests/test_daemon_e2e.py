"""`watcher run` as a real subprocess with a feed server, a webhook receiver and systemd's
notification socket: it starts, polls, delivers, reloads on SIGHUP and stops on SIGTERM."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FeedServer
from tests.support.builders import ISTANBUL, Entry, rss, write_config
from tests.support.daemon import Daemon, NotifyListener, wait_until
from tests.support.http_receiver import HttpReceiver

pytestmark = pytest.mark.e2e

WEATHER = Entry("w1", "Heatwave in Spain", ["Seville reached 44 degrees on Friday, the "
                                            "highest temperature recorded this year."])  # fmt: skip


TALKS_NEWS = [
    "Delegations from Russia and Ukraine met in Istanbul for their first direct talks in "
    "three years, with Turkish mediators hosting the session at Dolmabahce Palace.",
    "A second round of negotiations in Istanbul ended after ninety minutes, with Russia and "
    "Ukraine agreeing only to exchange draft memoranda on a possible ceasefire.",
    "Prisoner exchanges agreed at the Istanbul talks began on Friday, as Ukraine and Russia "
    "each released hundreds of soldiers captured along the front line.",
    "Kyiv accused Moscow of stalling the Istanbul talks by presenting demands that Ukraine "
    "withdraw from four regions it still controls, a condition it called unacceptable.",
    "Turkey offered to host a third round of Russia-Ukraine talks in Istanbul next month, "
    "and the foreign minister said both sides had accepted in principle.",
]


def talks(n: int) -> Entry:
    return Entry(f"talks-{n}", f"Istanbul talks, day {n}: Russia and Ukraine", [TALKS_NEWS[n - 1]])


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


def titles(receiver: HttpReceiver) -> list[str]:
    return [
        r.json()["item"]["title"]
        for r in receiver.requests
        if 200 <= r.status < 300 and r.json().get("type") == "alert"
    ]


def config_for(tmp_path: Path, feed: str, hook: str, topics: list[dict] | None = None) -> Path:
    return write_config(
        tmp_path,
        [feed],
        topics=topics or [{"name": "istanbul-talks", "query": ISTANBUL, "channels": ["hook"]}],
        channels={"hook": {"type": "webhook", "url": hook}},
        extra={"defaults": {"interval": "1s", "timeout": "5s"},
               "delivery": {"backoff": "1s", "max_backoff": "2s"}},
    )  # fmt: skip


def test_daemon_lifecycle_poll_deliver_reload_and_stop(
    tmp_path: Path, feed_server: FeedServer, receiver: HttpReceiver
) -> None:
    feed = feed_server.add("/rss", rss([WEATHER]))
    path = config_for(tmp_path, feed, receiver.url())
    notify = NotifyListener(tmp_path)
    daemon = Daemon(path, tmp_path, notify)
    try:
        ready = notify.wait_for("READY=1")
        notify.wait_for("WATCHDOG=1")

        # a new item published on the feed arrives as a webhook within about one interval
        feed_server.add("/rss", rss([talks(1), WEATHER]))
        wait_until(lambda: titles(receiver) == [talks(1).title], 10, "the first alert")

        # SIGHUP with an added topic takes effect without a restart
        weather = {"name": "weather", "query": "heatwave OR temperature*", "channels": ["hook"]}
        config_for(
            tmp_path,
            feed,
            receiver.url(),
            [{"name": "istanbul-talks", "query": ISTANBUL, "channels": ["hook"]}, weather],
        )
        daemon.signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING=1", after=ready)
        notify.wait_for("READY=1", after=reloading)
        heat = Entry("w2", "New heatwave record in Portugal",
                     ["Lisbon recorded its highest temperature since records began, at 46 "
                      "degrees, the weather service said on Saturday."])  # fmt: skip
        feed_server.add("/rss", rss([heat, talks(1), WEATHER]))
        wait_until(lambda: heat.title in titles(receiver), 10, "the alert of the added topic")

        # SIGHUP with a broken config is rejected; the daemon keeps running the old one
        path.write_text(path.read_text() + "\nunknown_key: [\n")
        daemon.signal(signal.SIGHUP)
        wait_until(lambda: "reload rejected" in daemon.log, 10, "the rejected reload")
        assert daemon.alive()
        feed_server.add("/rss", rss([talks(2), heat, talks(1), WEATHER]))
        wait_until(lambda: talks(2).title in titles(receiver), 10, "an alert after the bad reload")

        # SIGTERM: exit 0 within 5 seconds, saying STOPPING=1
        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        notify.wait_for("STOPPING=1", timeout=2)
        assert any(m.startswith("STATUS=") for m in notify.messages)
        # every alert went out exactly once
        assert all(count == 1 for count in receiver.delivery_ids().values())
        assert sorted(titles(receiver)) == sorted([talks(1).title, heat.title, talks(2).title])
    finally:
        daemon.kill()
        notify.close()


def test_kill_9_with_deliveries_pending_then_restart_delivers_every_alert(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    entries = [talks(n) for n in range(1, 6)]
    feed = feed_server.add("/rss", rss(entries))
    slow = HttpReceiver(delay=1.5).start()  # each delivery hangs: some stay pending
    try:
        path = config_for(tmp_path, feed, slow.url())
        daemon = Daemon(path, tmp_path)
        try:
            wait_until(lambda: len(slow.requests) >= 1, 15, "a first delivery attempt")
            daemon.process.kill()  # kill -9 in the middle of delivering
            daemon.wait(5)
        finally:
            daemon.kill()
    finally:
        slow.stop()
    with HttpReceiver(port=slow.port) as fast:
        daemon = Daemon(path, tmp_path)
        try:
            wait_until(
                lambda: set(titles(fast)) | set(titles(slow)) >= {e.title for e in entries},
                20,
                "every alert after the restart",
            )
        finally:
            daemon.signal(signal.SIGTERM)
            daemon.wait(5)
            daemon.kill()
        ids = fast.delivery_ids(accepted_only=False) + slow.delivery_ids(accepted_only=False)
        assert len(ids) == len(entries)  # one stable id per alert; repeats reuse it
        # once recorded as sent, never sent again: the fast receiver saw no completed repeat
        assert all(count == 1 for count in fast.delivery_ids().values())
