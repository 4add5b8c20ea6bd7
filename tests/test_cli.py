"""The command line as a user meets it: parse, status, and dedup explanations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import FeedServer
from tests.support.builders import Entry, rss, write_config
from watcher.cli import main

WIRE = [
    "Russian and Ukrainian delegations met in Istanbul on Friday for their first direct "
    "peace talks since the early weeks of the war, Turkish officials said.",
    "The meeting at Dolmabahce Palace lasted less than two hours and ended with an agreement "
    "to exchange one thousand prisoners of war from each side.",
]
ORIGINAL = Entry("a-1", "Russia, Ukraine hold first direct talks in Istanbul", WIRE)
COPY = Entry("b-1", "Istanbul talks: prisoner swap agreed", WIRE)


def test_parse_prints_one_json_object_per_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([ORIGINAL, COPY]), encoding="utf-8")
    assert main(["parse", str(feed)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["title"] for r in records] == [ORIGINAL.title, COPY.title]
    assert records[0]["paragraphs"] == WIRE
    assert records[0]["key"] == "guid:a-1"


def test_parse_of_a_missing_file_exits_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["parse", str(tmp_path / "nope.xml")]) == 2


def test_explain_dedup_shows_a_republication_and_where_it_was_first_seen(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.add("/a", rss([ORIGINAL], title="Outlet A"))
    config = write_config(tmp_path, [url])
    assert main(["--config", str(config), "once", "--quiet"]) == 0
    copy_file = tmp_path / "b.xml"
    copy_file.write_text(rss([COPY], title="Outlet B"), encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(config), "parse", "--explain-dedup", str(copy_file)]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    dedup = record["dedup"]
    assert dedup["verdict"] == "republication"
    assert all(p["status"] == "old" for p in dedup["paragraphs"])
    assert dedup["paragraphs"][0]["first_seen"]["item_id"] == dedup["original_item_id"]
    # the stored feed itself, unchanged, says so
    assert main(["--config", str(config), "parse", "--explain-dedup", url]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["dedup"]["verdict"] == "unchanged"


def test_status_shows_a_failing_feed_with_its_reason(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = feed_server.add("/good", rss([ORIGINAL], title="Good feed"))
    bad = feed_server.add("/bad", "denied", status=403)
    config = write_config(tmp_path, [good, bad])
    assert main(["--config", str(config), "once", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    good_line = next(line for line in out.splitlines() if line.startswith("Good feed"))
    bad_line = next(line for line in out.splitlines() if "/bad" in line)
    assert " ok " in good_line
    assert "fail" in bad_line and "HTTP 403" in bad_line and "since" in bad_line
    assert "2 feeds (1 failing)" in out


def test_python_dash_m_runs_the_same_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("watcher ")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
