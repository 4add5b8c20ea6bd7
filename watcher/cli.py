"""`watcher [--config PATH] COMMAND`: the command line of DESIGN.md.

`main(argv) -> int` does the work and returns the exit code (0 ok, 1 runtime failure,
2 bad usage or invalid config), so tests call it directly as well as in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from watcher import __version__
from watcher.config import Config, load_config
from watcher.errors import ConfigError, FetchError, ParseError, StoreError, WatcherError
from watcher.model import Item

log = logging.getLogger("watcher")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIGS = ("watcher.yaml", "config/watcher.yaml")


def _config_path(arg: str | None) -> Path:
    """--config, else $WATCHER_CONFIG, else ./watcher.yaml, else ./config/watcher.yaml."""
    if arg:
        return Path(arg)
    if os.environ.get("WATCHER_CONFIG"):
        return Path(os.environ["WATCHER_CONFIG"])
    for candidate in DEFAULT_CONFIGS:
        if Path(candidate).exists():
            return Path(candidate)
    return Path(DEFAULT_CONFIGS[0])


def setup_logging(level: str) -> None:
    """One line per event on stderr; journald adds time and unit, a terminal gets time."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if sys.stderr.isatty():
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosmtpd", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _load(args: argparse.Namespace) -> Config:
    config = load_config(_config_path(args.config))
    setup_logging(args.log_level or config.settings.log_level)
    return config


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args)
    settings = config.settings
    channels = ", ".join(f"{name} ({ch.type})" for name, ch in settings.channels.items())
    from_opml = sum(1 for f in settings.feeds if f.opml)
    print(f"{config.path}: OK")
    print(
        f"  feeds:    {len(config.feeds)}"
        + (f" ({from_opml} OPML file{'s' * (from_opml != 1)})" if from_opml else "")
    )
    print(f"  topics:   {len(settings.topics)}: {', '.join(t.name for t in settings.topics)}")
    print(f"  channels: {len(settings.channels)}: {channels or 'none'}")
    print(f"  database: {settings.database}")
    return EXIT_OK


async def _read_source(source: str, config: Config | None) -> tuple[bytes, str, str | None]:
    """(body, url, content type) of a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        from watcher.fetch import Fetcher, Validators
        from watcher.pipeline import limits_for
        from watcher.runner import fetch_settings

        async with Fetcher(fetch_settings(config) if config else None) as fetcher:
            result = await fetcher.fetch(
                source,
                validators=Validators(),
                limits=limits_for(None, config) if config else None,
            )
        assert result.body is not None
        return result.body, result.final_url, result.content_type
    path = Path(source)
    return path.read_bytes(), path.resolve().as_uri(), None


def _optional_config(args: argparse.Namespace) -> Config | None:
    """The config if one is there and valid; `parse` and `match` also work without one."""
    path = _config_path(args.config)
    if not args.config and not path.exists():
        return None
    return _load(args)


def cmd_parse(args: argparse.Namespace) -> int:
    from watcher.parse import parse_feed

    config = _load(args) if args.explain_dedup else _optional_config(args)
    body, url, content_type = asyncio.run(_read_source(args.source, config))
    parsed = parse_feed(body, url=url, content_type=content_type)
    if parsed.warning:
        log.warning("%s: %s", args.source, parsed.warning)
    explain = _dedup_explainer(config, args.source) if args.explain_dedup else None
    for item in parsed.items:
        record = item.to_json()
        if explain is not None:
            record["dedup"] = explain(item)
        print(json.dumps(record, ensure_ascii=False))
    return EXIT_OK


def _dedup_explainer(config: Config | None, source: str):
    """A function telling, for an item, what dedup would decide against the database now.

    Read-only: nothing is recorded, so it can be run against a live daemon's database.
    An item of a configured feed (same URL) already stored is judged as an update.
    """
    from watcher.dedup import DedupStore
    from watcher.pipeline import dedup_settings
    from watcher.store import feeds as feed_store
    from watcher.store import items as item_store
    from watcher.store import open_database

    assert config is not None
    db = open_database(config.database_path)
    store, settings = DedupStore(db), dedup_settings(config)
    feed = feed_store.feed_by_url(db, source)

    def explain(item: Item) -> dict:
        stored = item_store.find_items(db, feed.id, [item.key]).get(item.key) if feed else None
        if stored is not None and stored.content_hash == item.content_hash:
            return {"verdict": "unchanged", "item_id": stored.id}
        result = store.assess(
            item,
            item_id=stored.id if stored else None,
            is_update=stored is not None,
            now=time.time(),
            settings=settings,
        )
        return result.to_json()

    return explain


def cmd_match(args: argparse.Namespace) -> int:
    from watcher.matchcmd import Candidate, run_match, syntax_error_lines
    from watcher.query import QuerySyntaxError, parse_query

    if args.history:
        config = _load(args)
    else:
        if not args.source:
            print("watcher match: give FILE_OR_URL, or --history to search stored items",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        config = _optional_config(args)
    aliases = config.settings.aliases if config else {}
    try:
        query = parse_query(args.query, aliases)
    except QuerySyntaxError as exc:
        for line in syntax_error_lines(args.query, exc):
            print(line, file=sys.stderr)
        return EXIT_USAGE
    color = sys.stdout.isatty() and not args.json
    if args.history:
        from watcher.store import open_database
        from watcher.store.items import items_since
        from watcher.units import parse_duration

        assert config is not None
        db = open_database(config.database_path)
        try:
            since = time.time() - parse_duration(args.since)
            candidates = [
                Candidate(item, name, url) for _, name, url, item in items_since(db, since)
            ]
        finally:
            db.close()
    else:
        from watcher.parse import parse_feed

        body, url, content_type = asyncio.run(_read_source(args.source, config))
        parsed = parse_feed(body, url=url, content_type=content_type)
        name = parsed.title or args.source
        candidates = [Candidate(item, name, url) for item in parsed.items]
    run_match(query, candidates, color=color, show_all=not args.only_matches, as_json=args.json)
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    from watcher.runner import run_once

    config = _load(args)
    return asyncio.run(run_once(config, progress=sys.stderr.isatty() and not args.quiet))


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.service import serve

    config = _load(args)
    return asyncio.run(serve(config.path, config))


def cmd_status(args: argparse.Namespace) -> int:
    from watcher.report import print_status
    from watcher.store import open_database

    config = _load(args)
    db = open_database(config.database_path)
    try:
        print_status(db, config, now=time.time(), color=sys.stdout.isatty())
    finally:
        db.close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher",
        description="News-monitoring alert daemon: polls feeds, alerts once per development.",
    )
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $WATCHER_CONFIG, ./watcher.yaml, ./config/watcher.yaml)",
    )
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="overrides log_level"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "run", help="the daemon: poll on schedule and deliver until SIGTERM; SIGHUP reloads"
    ).set_defaults(func=cmd_run)
    commands.add_parser("check", help="validate the config and every query").set_defaults(
        func=cmd_check
    )
    p = commands.add_parser("parse", help="print a feed's items, one JSON object a line")
    p.add_argument("source", metavar="FILE_OR_URL")
    p.add_argument(
        "--explain-dedup",
        action="store_true",
        help="add what dedup decides for each item against the configured database",
    )
    p.set_defaults(func=cmd_parse)
    p = commands.add_parser("match", help="show which items a query matches, and why")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("source", metavar="FILE_OR_URL", nargs="?")
    p.add_argument("--history", action="store_true", help="search the items already stored")
    p.add_argument("--since", default="7d", help="with --history: how far back (default 7d)")
    p.add_argument("--only-matches", action="store_true", help="list matched items only")
    p.add_argument("--json", action="store_true", help="one JSON object per item")
    p.set_defaults(func=cmd_match)
    p = commands.add_parser("once", help="poll every configured feed now, deliver, exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_once)
    commands.add_parser("status", help="feeds and pending/dead alerts").set_defaults(
        func=cmd_status
    )
    from watcher.notify.commands import add_commands as add_notify_commands

    add_notify_commands(commands)  # alerts, test-notify
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_level:
        setup_logging(args.log_level)
    try:
        return args.func(args)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    except (FetchError, ParseError) as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except FileNotFoundError as exc:
        print(f"watcher: {exc.filename}: no such file", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, WatcherError) as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    sys.exit(main())
