"""`watcher match`: a query tried on a feed file or on stored items, with explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import FeedServer
from tests.support.builders import Entry, rss, write_config
from watcher.cli import main

TALKS = Entry("t1", "Putin and Zelenskyy could meet, Kremlin says",
              ["Vladimir Putin is open to a meeting with Volodymyr Zelensky after the Istanbul "
               "talks, the Kremlin said."])  # fmt: skip
ERDOGAN = Entry("e1", "Putin meets Erdogan", ["Putin and Erdogan met in Sochi to discuss grain."])


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text(rss([TALKS, ERDOGAN]), encoding="utf-8")
    return path


def test_match_lists_each_item_with_its_explanation(
    feed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [], extra={"aliases": {"zelenskyy": ["zelensky"]}})
    code = main(["--config", str(config), "match", "putin NEAR/15 @zelenskyy", str(feed_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"MATCH {TALKS.title}" in out
    assert f"-     {ERDOGAN.title}" in out
    assert "terms:   putin, @zelenskyy" in out
    assert "[Zelensky]" in out or "[Zelenskyy]" in out  # marked in the snippet
    assert "1 of 2 items matched" in out


def test_match_json_output_carries_the_explanation(
    feed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config around: match works without one
    assert main(["match", "--json", "erdogan", str(feed_file)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["matched"] for r in records] == [False, True]
    assert records[1]["explanation"]["terms"] == ["erdogan"]


def test_a_query_that_does_not_parse_points_at_the_column(
    feed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["match", "putin AND (talks OR", str(feed_file)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("query: column ")
    assert err[2].index("^") == 2 + int(err[0].split()[2].rstrip(":")) - 1


def test_match_history_backtests_stored_items(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.add("/rss", rss([TALKS, ERDOGAN]))
    config = write_config(tmp_path, [url])
    assert main(["--config", str(config), "once", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "match", "erdogan", "--history", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert f"MATCH {ERDOGAN.title}" in out and "1 of 2 items matched" in out
