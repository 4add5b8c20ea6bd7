"""Config of feed health, adaptive polling and metrics: validated, errors located by line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config import load_config
from watcher.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watcher.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return [str(issue) for issue in caught.value.issues]


def test_defaults_leave_health_on_without_channels_and_metrics_off(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "feeds:\n  - url: https://a.example/rss\n"), environ={})
    health = config.settings.health
    assert (health.failures, health.stale_after, health.stale_floor, health.channels) == (
        5, "auto", 6 * 3600.0, []
    )  # fmt: skip
    assert config.settings.metrics is None
    (feed,) = config.feeds
    assert (feed.auto, feed.interval, feed.min_interval, feed.max_interval) == (
        False, 600.0, 120.0, 3600.0
    )  # fmt: skip


def test_interval_auto_and_bounds_per_feed_and_in_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults: {interval: auto, min_interval: 5m, max_interval: 2h}
        feeds:
          - url: https://a.example/rss
          - url: https://b.example/rss
            interval: 15m
          - url: https://c.example/rss
            min_interval: 20m
        health: {failures: 3, stale_after: off, stale_floor: 12h, channels: [ops]}
        metrics: {listen: "127.0.0.1:9464"}
        channels: {ops: {type: console}}
        """,
    )
    config = load_config(path, environ={})
    a, b, c = config.feeds
    assert (a.auto, a.interval, a.min_interval, a.max_interval) == (True, 600.0, 300.0, 7200.0)
    assert (b.auto, b.interval) == (False, 900.0)
    assert (c.auto, c.interval, c.min_interval) == (True, 1200.0, 1200.0)  # starts in bounds
    health = config.settings.health
    assert (health.failures, health.stale_after, health.channels) == (3, "off", ["ops"])
    assert config.settings.metrics is not None
    assert config.settings.metrics.address == ("127.0.0.1", 9464)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "health:\n  channels: [opz]\nchannels:\n  ops: {type: console}\n",
            "2: health.channels[0]: no channel named 'opz' (did you mean 'ops'?)",
        ),
        ("health:\n  channels: [ops]\n", "2: health.channels[0]: no channel named 'ops'; define"),
        ("health:\n  failures: 0\n", "2: health.failures: Input should be greater than or equal"),
        ("health:\n  stale_after: sometimes\n", "2: health.stale_after: expected a duration"),
        ("health:\n  bogus: 1\n", "2: health.bogus: unknown key 'bogus'"),
        ("feeds:\n  - url: https://a.example/x\n    interval: often\n", "3: feeds[0].interval"),
        (
            "feeds:\n  - url: https://a.example/x\n    min_interval: 2h\n",
            "2: feeds[0]: min_interval (2h) is longer than max_interval (1h)",
        ),
        (
            "defaults:\n  min_interval: 2h\n  max_interval: 1h\n",
            "defaults: `min_interval` must not be longer than `max_interval`",
        ),
        ("metrics:\n  listen: somewhere\n", "2: metrics.listen: expected HOST:PORT"),
        ("metrics:\n  listen: 127.0.0.1:70000\n", "2: metrics.listen: port 70000 is out of range"),
        ("metrics: {}\n", "metrics: required key 'listen' is missing"),
    ],
)
def test_each_mistake_is_located(tmp_path: Path, body: str, expected: str) -> None:
    issues = issues_of(write(tmp_path, body))
    assert any(expected in issue for issue in issues), issues
