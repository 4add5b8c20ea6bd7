"""Config loading: validated models, every error at once with FILE:LINE, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.cli import main
from watcher.config import load_config
from watcher.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "watcher.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def issues_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return [str(issue) for issue in caught.value.issues]


MINIMAL = """
    database: {db}
    feeds:
      - url: https://example.org/rss.xml
    topics:
      - name: talks
        query: 'istanbul talks'
        channels: [screen]
    channels:
      screen:
        type: console
"""


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL.format(db=tmp_path / "w.db")), environ={})
    assert [f.url for f in config.feeds] == ["https://example.org/rss.xml"]
    feed = config.feeds[0]
    assert (feed.interval, feed.timeout, feed.max_bytes) == (600.0, 30.0, 10_000_000)
    assert config.settings.backfill == 86400.0
    assert set(config.queries) == {"talks"}


def test_typo_bad_duration_and_missing_variable_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance case: three mistakes, three lines with line numbers, exit 2."""
    path = write(
        tmp_path,
        """
        database: var/w.db
        defaults:
          intervall: 5m
        feeds:
          - url: https://example.org/rss.xml
            timeout: 30 seconds
        channels:
          hook:
            type: webhook
            url: https://hooks.example.org/x
            secret: "${WATCHER_TEST_UNSET_SECRET}"
        """,
    )
    code = main(["--config", str(path), "check"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert (
        f"{path}:3: defaults.intervall: unknown key 'intervall' (did you mean 'interval'?)" in err
    )
    assert any(line.startswith(f"{path}:6: feeds[0].timeout: expected a duration") for line in err)
    assert (
        f"{path}:11: channels.hook.secret: environment variable WATCHER_TEST_UNSET_SECRET "
        "is not set" in err
    )
    assert len(err) == 3


def test_unknown_key_without_close_match_lists_the_known_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "dedup:\n  frobnicate: 3\n")
    (issue,) = issues_of(path)
    assert issue.startswith(
        f"{path}:2: dedup.frobnicate: unknown key 'frobnicate'; expected one of"
    )
    assert "min_words" in issue


def test_environment_variables_fill_values_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        database: ${WATCHER_DB:-fallback.db}
        channels:
          hook: {type: webhook, url: "https://h.example.org/${HOOK_PATH}", secret: "${SECRET}"}
        """,
    )
    config = load_config(path, environ={"HOOK_PATH": "abc", "SECRET": "s3cr3t"})
    hook = config.settings.channels["hook"]
    assert config.settings.database == "fallback.db"
    assert hook.url == "https://h.example.org/abc"
    assert hook.secret.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(config.settings)


def test_check_prints_a_summary_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("WEBHOOK_SECRET", "whsec-very-secret")
    code = main(["--config", str(REPO / "config" / "example.yaml"), "check"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "OK" in out
    assert "feeds:    4 (1 OPML file)" in out
    assert "desk (email)" in out and "hook (webhook)" in out
    assert "hunter2" not in out + err and "whsec" not in out + err


def test_default_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(REPO / "config" / "watcher.yaml"), "check"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "istanbul-talks" in out and "putin-zelenskyy-meeting" in out


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("feeds:\n  - url: ftp://example.org/x\n", "2: feeds[0].url: expected an http"),
        ("feeds:\n  - name: x\n", "2: feeds[0]: each feed needs exactly one of `url:` or `opml:`"),
        (
            "feeds:\n  - url: https://a.example/x\n  - url: https://a.example/x\n",
            "3: feeds[1]: feed https://a.example/x is listed twice (also feeds[0])",
        ),
        ("defaults:\n  interval: 0.5s\n", "2: defaults.interval: an interval must be at least 1s"),
        ("defaults:\n  max_bytes: lots\n", "2: defaults.max_bytes: expected a size"),
        ("channels:\n  x:\n    type: pigeon\n", "2: channels.x: unknown type 'pigeon'"),
        ("channels:\n  x:\n    url: https://h/x\n", "2: channels.x: missing `type:`"),
        (
            "channels:\n  x:\n    type: email\n    from: a@b\n    to: c@d\n",
            "2: channels.x: required key 'smtp' is missing",
        ),
        (
            "topics:\n  - name: t\n    query: a\n    channels: [scren]\n"
            "channels:\n  screen: {type: console}\n",
            "4: topics[0].channels[0]: no channel named 'scren' (did you mean 'screen'?)",
        ),
        ("topics:\n  - name: 'bad name!'\n    query: a\n", "2: topics[0].name: 'bad name!' is not"),
        ("feeds: [\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping of settings at the top"),
        ("dedup:\n  min_words: 3\n  min_words: 4\n", "3: dedup.min_words: key 'min_words' appears"),
    ],
)
def test_each_mistake_is_located(tmp_path: Path, body: str, expected: str) -> None:
    issues = issues_of(write(tmp_path, body))
    assert any(expected in issue for issue in issues), issues


def test_query_syntax_error_names_topic_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        topics:
          - name: t
            query: 'istanbul AND'
        """,
    )
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:3: topics[0].query: column ")


def test_opml_feeds_are_expanded_with_their_titles(tmp_path: Path) -> None:
    (tmp_path / "list.opml").write_text(
        '<opml version="2.0"><body><outline text="News">'
        '<outline text="A" xmlUrl="https://a.example/rss"/>'
        '<outline title="B" text="b" xmlUrl="https://b.example/atom"/></outline>'
        "</body></opml>"
    )
    path = write(tmp_path, "feeds:\n  - opml: list.opml\n    interval: 5m\n")
    config = load_config(path, environ={})
    assert [(f.url, f.name, f.interval) for f in config.feeds] == [
        ("https://a.example/rss", "A", 300.0),
        ("https://b.example/atom", "B", 300.0),
    ]


def test_missing_or_broken_opml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - opml: nowhere.opml\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:2: feeds[0].opml: cannot read OPML file")
    (tmp_path / "bad.opml").write_text("<html><body>not opml</body></html>")
    path = write(tmp_path, "feeds:\n  - opml: bad.opml\n", name="b.yaml")
    (issue,) = issues_of(path)
    assert "not an OPML file" in issue


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.yaml"), "check"]) == 2
    assert "cannot read" in capsys.readouterr().err
