"""`watcher run` as a real subprocess with `metrics: {listen: …}`: /healthz and /metrics
scraped over real HTTP while it polls a feed server and delivers to a webhook receiver."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import FeedServer, unused_port
from tests.support.builders import ISTANBUL, Entry, rss, write_config
from tests.support.daemon import Daemon, wait_until
from tests.support.http_receiver import HttpReceiver

pytestmark = pytest.mark.e2e

TALKS = Entry(
    "talks-1",
    "Istanbul talks, day 1: Russia and Ukraine",
    ["Delegations from Russia and Ukraine met in Istanbul for their first direct talks in "
     "three years, with Turkish mediators hosting the session at Dolmabahce Palace."],
)  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as r:
        yield r


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(base + "/metrics", timeout=5, trust_env=False)
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def healthz(base: str) -> httpx.Response | None:
    try:
        return httpx.get(base + "/healthz", timeout=5, trust_env=False)
    except httpx.TransportError:
        return None  # not listening yet


def bodies(receiver: HttpReceiver, kind: str) -> list[dict]:
    return [r.json() for r in receiver.requests if 200 <= r.status < 300
            and r.json().get("type") == kind]  # fmt: skip


def test_healthz_and_metrics_over_http_move_as_the_daemon_polls_and_delivers(
    tmp_path: Path, feed_server: FeedServer, receiver: HttpReceiver
) -> None:
    news = feed_server.add("/rss", rss([]))
    walled = feed_server.add("/walled", "Access denied", status=403, content_type="text/html")
    port = unused_port()
    base = f"http://127.0.0.1:{port}"
    path = write_config(
        tmp_path,
        [news, walled],
        topics=[{"name": "istanbul-talks", "query": ISTANBUL, "channels": ["hook"]}],
        channels={"hook": {"type": "webhook", "url": receiver.url()}},
        extra={
            "defaults": {"interval": "1s", "timeout": "5s"},
            "delivery": {"backoff": "1s", "max_backoff": "2s"},
            "health": {"failures": 1, "channels": ["hook"]},
            "metrics": {"listen": f"127.0.0.1:{port}"},
        },
    )
    started = time.time()
    daemon = Daemon(path, tmp_path)
    try:
        wait_until(lambda: (r := healthz(base)) is not None and r.status_code == 200, 15,
                   "a healthy /healthz")  # fmt: skip
        assert healthz(base).json() == {  # type: ignore[union-attr]
            "status": "ok",
            "checks": {"database": "writable", "scheduler": "alive"},
        }

        # a story is published: it is polled, alerted and delivered
        feed_server.add("/rss", rss([TALKS]))
        wait_until(lambda: len(bodies(receiver, "alert")) == 1, 15, "the topic alert")
        # the walled feed failed (failures: 1): one health alert on the health channel
        wait_until(lambda: len(bodies(receiver, "health")) == 1, 15, "the health alert")
        (health,) = bodies(receiver, "health")
        assert health["state"] == "failing" and health["feed"]["url"] == walled

        first = scrape(base)
        hook = (("channel", "hook"),)
        assert first[("watcher_polls_total", (("outcome", "changed"),))] >= 1
        assert first[("watcher_polls_total", (("outcome", "failed"),))] >= 1
        assert first[("watcher_items_total", (("kind", "new"),))] >= 1
        assert first[("watcher_alerts_queued_total", ())] >= 1
        assert first[("watcher_deliveries_total", (*hook, ("result", "sent")))] >= 2
        assert first[("watcher_delivery_latency_seconds_count", hook)] >= 2
        assert first[("watcher_alerts", (*hook, ("status", "sent")))] >= 2
        assert first[("watcher_feeds_failing", ())] == 1
        assert first[("watcher_feeds", (("health", "failing"),))] == 1
        last_ok = first[("watcher_feed_last_success_timestamp_seconds", (("feed", news),))]
        assert last_ok >= started

        # counters keep moving while the daemon polls
        polls = first[("watcher_polls_total", (("outcome", "unchanged"),))]
        wait_until(
            lambda: scrape(base)[("watcher_polls_total", (("outcome", "unchanged"),))] > polls,
            15,
            "more polls counted",
        )

        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
        assert healthz(base) is None  # the listener is gone with the daemon
    finally:
        daemon.kill()
