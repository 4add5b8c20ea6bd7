"""The /healthz and /metrics listener and the per-Service metrics, in process.

The listener runs on a real 127.0.0.1 socket and is spoken to over real HTTP; the
database checks use real SQLite files (one opened read-only to be unwritable).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from prometheus_client.parser import text_string_to_metric_families

from tests.support.builders import make_config
from watcher.metrics import ServiceMetrics
from watcher.monitor import Health, MonitorServer, judge_liveness, probe_database
from watcher.notify.delivery import ChannelReport, DeliveryReport
from watcher.pipeline import IngestResult, PollOutcome
from watcher.store import feeds as feed_store
from watcher.store import open_database


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from the Prometheus text format."""
    found = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def serve(health: Callable[[], Health], metrics: Callable[[], bytes], requests: Callable) -> Any:
    """Start a MonitorServer on a free port, run `requests(base_url)`, stop it."""

    async def run() -> Any:
        server = MonitorServer("127.0.0.1", 0, health=health, metrics=metrics)
        await server.start()
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
                return await requests(client, f"http://127.0.0.1:{server.port}")
        finally:
            await server.close()

    return asyncio.run(run())


def test_healthz_answers_200_when_healthy_and_503_with_the_reason_when_not() -> None:
    verdicts = iter([Health(True, {"scheduler": "alive"}),
                     Health(False, {"scheduler": "the scheduler is not running"})])  # fmt: skip

    async def requests(client: httpx.AsyncClient, base: str) -> list[httpx.Response]:
        return [await client.get(base + "/healthz"), await client.get(base + "/healthz")]

    good, bad = serve(lambda: next(verdicts), lambda: b"", requests)
    assert good.status_code == 200 and good.json()["status"] == "ok"
    assert good.headers["content-type"] == "application/json"
    assert bad.status_code == 503
    assert bad.json()["checks"]["scheduler"] == "the scheduler is not running"


def test_metrics_are_served_in_the_prometheus_text_format() -> None:
    async def requests(client: httpx.AsyncClient, base: str) -> httpx.Response:
        return await client.get(base + "/metrics")

    response = serve(lambda: Health(True), lambda: b"watcher_up 1.0\n", requests)
    assert response.status_code == 200 and response.text == "watcher_up 1.0\n"
    assert response.headers["content-type"].startswith("text/plain; version=")


def test_other_paths_methods_and_garbage_get_4xx_and_head_gets_no_body() -> None:
    async def requests(client: httpx.AsyncClient, base: str) -> list[Any]:
        answers: list[Any] = [
            await client.get(base + "/"),
            await client.post(base + "/metrics"),
            await client.head(base + "/healthz"),
        ]
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"NONSENSE\r\n\r\n")
        await writer.drain()
        answers.append(await reader.read())
        writer.close()
        return answers

    missing, post, head, garbage = serve(lambda: Health(True), lambda: b"x", requests)
    assert missing.status_code == 404 and post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert garbage.startswith(b"HTTP/1.1 400 ")


def test_a_failing_metrics_collection_is_a_500_not_a_dead_listener() -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    async def requests(client: httpx.AsyncClient, base: str) -> list[httpx.Response]:
        return [await client.get(base + "/metrics"), await client.get(base + "/healthz")]

    failed, healthz = serve(lambda: Health(True), broken, requests)
    assert failed.status_code == 500 and healthz.status_code == 200


def test_liveness_needs_a_running_scheduler_with_a_recent_heartbeat() -> None:
    assert judge_liveness(running=True, last_tick=100.0, now=110.0, period=5) is None
    assert "not running" in (judge_liveness(running=False, last_tick=100.0, now=101, period=5))
    assert "20s old" in (judge_liveness(running=True, last_tick=100.0, now=120.0, period=5))
    assert judge_liveness(running=True, last_tick=None, now=1.0, period=5) is not None


def test_the_database_probe_writes_and_reports_an_unwritable_database(tmp_path: Path) -> None:
    db = open_database(tmp_path / "w.db")
    assert probe_database(db, 123.0) is None
    assert db.execute("SELECT at FROM heartbeat").fetchall() == [(123.0,)]
    db.close()
    conn = sqlite3.connect(f"file:{tmp_path / 'w.db'}?mode=ro", uri=True)
    readonly = sqlite_utils.Database(conn)
    problem = probe_database(readonly, 124.0)
    assert problem is not None and "not writable" in problem and "readonly" in problem
    conn.close()


def test_each_metrics_instance_has_its_own_registry_and_counts_polls_and_deliveries(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "w.db")
    try:
        first, second = ServiceMetrics(lambda: db), ServiceMetrics(lambda: db)  # no collision
        outcome = PollOutcome(1, "u", "n", "changed", 0.2, IngestResult(new_items=3, alerts=2))
        first.observe_poll(outcome)
        first.observe_poll(PollOutcome(1, "u", "n", "failed", 0.1, error="HTTP 500"))
        report = DeliveryReport({"hook": ChannelReport(sent=2, failed=1, latencies=[4.0, 40.0])})
        first.observe_delivery(report)
        got = samples(first.exposition())
        assert got[("watcher_polls_total", (("outcome", "changed"),))] == 1
        assert got[("watcher_polls_total", (("outcome", "failed"),))] == 1
        assert got[("watcher_polls_total", (("outcome", "gone"),))] == 0  # exists at zero
        assert got[("watcher_items_total", (("kind", "new"),))] == 3
        assert got[("watcher_alerts_queued_total", ())] == 2
        assert got[("watcher_deliveries_total", (("channel", "hook"), ("result", "sent")))] == 2
        assert got[("watcher_deliveries_total", (("channel", "hook"), ("result", "failed")))] == 1
        latency = ("watcher_delivery_latency_seconds_bucket", (("channel", "hook"), ("le", "5.0")))
        assert got[latency] == 1
        assert samples(second.exposition())[("watcher_polls_total", (("outcome", "changed"),))] == 0
    finally:
        db.close()


def test_state_gauges_are_read_from_the_database_at_scrape_time(tmp_path: Path) -> None:
    config = make_config(tmp_path, ["https://a.example/rss", "https://b.example/rss"])
    db = open_database(config.database_path)
    try:
        metrics = ServiceMetrics(lambda: db)
        feed_store.sync_feeds(db, config.feeds, 1000.0)
        a, b = (feed_store.feed_by_url(db, f.url) for f in config.feeds)
        assert a is not None and b is not None
        feed_store.record_success(db, a.id, now=2000.0, next_due=2600.0, etag=None,
                                  last_modified=None, body_hash=None)  # fmt: skip
        feed_store.record_failure(db, b.id, now=2000.0, error="HTTP 403", next_due=2100.0)
        feed_store.record_health(db, b.id, state="failing", since=2000.0, alerted=True, reason="x")
        got = samples(metrics.exposition())
        url_a = (("feed", "https://a.example/rss"),)
        assert got[("watcher_feed_last_success_timestamp_seconds", url_a)] == 2000.0
        assert ("watcher_feed_last_success_timestamp_seconds", (("feed", b.url),)) not in got
        assert got[("watcher_feeds_failing", ())] == 1
        assert got[("watcher_feeds", (("health", "failing"),))] == 1
        assert got[("watcher_feeds", (("health", "ok"),))] == 1
        assert got[("watcher_feed_consecutive_failures", (("feed", b.url),))] == 1
    finally:
        db.close()


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "localhost:9464", "[::1]:9464", 9464])
def test_listen_addresses_parse(tmp_path: Path, listen: object) -> None:
    config = make_config(tmp_path, [], extra={"metrics": {"listen": listen}})
    assert config.settings.metrics is not None
    host, port = config.settings.metrics.address
    assert host in ("127.0.0.1", "localhost", "::1") and port == 9464
