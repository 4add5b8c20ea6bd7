"""Small builders for tests: RSS documents and config files."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import yaml

from watcher.config import Config, load_config

# Entries are dated when the test run started, to the second: recent enough for every
# backfill window, and the same in a document built twice (dated "now", two copies built
# a second apart differed, and a test comparing them failed now and then).
RUN_STARTED = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Entry:
    guid: str
    title: str
    paragraphs: Sequence[str] = ()
    published: datetime | None = RUN_STARTED
    link: str | None = None


def rss(entries: Sequence[Entry], title: str = "Test feed") -> str:
    """An RSS 2.0 document whose items carry their paragraphs as <p> in description."""
    items = []
    for e in entries:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in e.paragraphs)
        parts = [
            f"<guid isPermaLink='false'>{html.escape(e.guid)}</guid>",
            f"<title>{html.escape(e.title)}</title>",
            f"<description>{html.escape(body)}</description>",
        ]
        if e.link:
            parts.append(f"<link>{html.escape(e.link)}</link>")
        if e.published:
            parts.append(f"<pubDate>{format_datetime(e.published)}</pubDate>")
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>https://example.org/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    )


ISTANBUL = "istanbul AND (talks OR negotiat*) AND (russia* OR ukrain*)"


def write_config(
    tmp_path: Path,
    feeds: Sequence[str | dict],
    *,
    topics: Sequence[dict] | None = None,
    channels: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """A config file in tmp_path with its own database; returns its path."""
    data: dict = {
        "database": str(tmp_path / "watcher.db"),
        "defaults": {"interval": "10m", "timeout": "5s"},
        "feeds": [f if isinstance(f, dict) else {"url": f} for f in feeds],
        "topics": list(
            topics
            if topics is not None
            else [{"name": "istanbul-talks", "query": ISTANBUL, "channels": ["screen"]}]
        ),
        "channels": channels if channels is not None else {"screen": {"type": "console"}},
    }
    data.update(extra or {})
    path = tmp_path / "watcher.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_config(tmp_path: Path, feeds: Sequence[str | dict], **kwargs: object) -> Config:
    return load_config(write_config(tmp_path, feeds, **kwargs), environ={})  # type: ignore[arg-type]


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()
