"""`watcher alerts` and `watcher test-notify CHANNEL`.

`add_commands` registers both subcommands on the CLI's subparsers; the functions return
exit codes like every command (0 ok, 1 failure, 2 bad usage). Heavy imports happen when a
command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import httpx

    from watcher.config import Config
    from watcher.notify.base import Message
    from watcher.store.outbox import OutboxAlert

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `alerts` and `test-notify` on the CLI's subparsers."""
    p = commands.add_parser("alerts", help="recent alerts: status, attempts, last error")
    p.add_argument("--status", choices=["pending", "sent", "dead"], help="only alerts in it")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (default 50)")
    p.add_argument("--channel", metavar="NAME", help="only this channel")
    p.add_argument(
        "--retry-dead", action="store_true", help="queue every dead alert again (fresh attempts)"
    )
    p.set_defaults(func=cmd_alerts)
    p = commands.add_parser("test-notify", help="send a test message through a channel now")
    p.add_argument("channel", metavar="CHANNEL")
    p.set_defaults(func=cmd_test_notify)


def cmd_alerts(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from watcher.cli import _load
    from watcher.store import open_database, outbox

    out = out or sys.stdout
    config = _load(args)
    db = open_database(config.database_path)
    try:
        now = time.time()
        if args.retry_dead:
            ids = outbox.retry_dead(db, now, channel=args.channel)
            print(f"{len(ids)} dead alert{'s' * (len(ids) != 1)} queued again", file=out)
            return EXIT_OK
        if args.limit < 1:
            print("watcher alerts: --limit must be 1 or more", file=sys.stderr)
            return EXIT_USAGE
        rows = outbox.recent_alerts(db, limit=args.limit, status=args.status, channel=args.channel)
        print_alerts(rows, now=now, out=out, color=out.isatty())
    finally:
        db.close()
    return EXIT_OK


def print_alerts(rows: list[OutboxAlert], *, now: float, out: TextIO, color: bool = False) -> None:
    """One line per alert, and its last error under it."""
    from watcher.humanize import ago, truncate, until
    from watcher.notify.render import headline, one_line

    red, yellow, green, dim, reset = "\033[31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"
    paint = {"dead": red, "pending": yellow, "sent": green}
    if not rows:
        print("no alerts", file=out)
        return
    header = f"{'created':>9}  {'status':<7} {'tries':>5}  {'channel':<12} {'kind':<6} "
    print(header + f"{'id':<24}  {'when':<10} headline", file=out)
    for row in rows:
        status = f"{row.status:<7}"
        if color:
            status = f"{paint.get(row.status, '')}{status}{reset}"
        if row.status == "sent":
            moment = ago(row.sent_at, now)
        elif row.status == "pending":
            moment = until(row.next_attempt, now)
        else:
            moment = "-"
        line = (
            f"{ago(row.created, now):>9}  {status} {row.attempts:>5}  "
            f"{truncate(row.channel, 12):<12} {row.kind:<6} {row.id:<24}  {moment:<10} "
            f"{truncate(headline(row.payload), 60)}"
        )
        print(line, file=out)
        if row.last_error and row.status != "sent":
            error = f"{'':>11}last error: {one_line(row.last_error, 200)}"
            print(f"{dim}{error}{reset}" if color else error, file=out)


def test_message(channel: str, now: float) -> Message:
    """A clearly marked test alert, shaped like a real one, never stored in the outbox."""
    import hashlib

    from watcher.alerts import TopicHit, build_alert
    from watcher.model import Item
    from watcher.notify.base import Message

    ident = "test-" + hashlib.sha256(f"{channel}\x00{now}".encode()).hexdigest()[:19]
    item = Item(
        key="test",
        title="watcher test message: please ignore",
        link=None,
        published=None,
        paragraphs=("If you can read this, the channel works. No action is needed.",),
    )
    body = build_alert(
        alert=ident,
        kind="test",
        created=now,
        item=item,
        new_paragraphs=item.paragraphs,
        feed_name="watcher",
        feed_url="watcher:test",
        topics=[TopicHit("test", "Test message", ["test"], "a test message from watcher")],
    )
    return Message(id=ident, alerts=(body,), created=now, test=True, alert_ids=(ident,))


async def send_test(
    config: Config, name: str, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> str:
    """Send the test message through channel `name`; the server's answer, or raise."""
    from watcher.notify.delivery import build_channel
    from watcher.notify.webhook import make_http_client

    clients: list[httpx.AsyncClient] = []

    def client() -> httpx.AsyncClient:
        clients.append(make_http_client(transport=http_transport))
        return clients[-1]

    channel = build_channel(name, config.settings.channels[name], http_client=client)
    try:
        receipt = await channel.send(test_message(name, time.time()))
    finally:
        await channel.aclose()
        for c in clients:
            await c.aclose()
    return receipt.detail


def cmd_test_notify(args: argparse.Namespace) -> int:
    from watcher.cli import _load
    from watcher.errors import DeliveryError, PermanentDeliveryError

    config = _load(args)
    channels = config.settings.channels
    if args.channel not in channels:
        known = ", ".join(channels) or "none are configured"
        print(f"watcher: no channel named {args.channel!r} (channels: {known})", file=sys.stderr)
        return EXIT_USAGE
    try:
        detail = asyncio.run(send_test(config, args.channel))
    except DeliveryError as exc:
        kind = "permanent" if isinstance(exc, PermanentDeliveryError) else "temporary"
        print(f"{args.channel}: FAILED ({kind}): {exc.reason}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{args.channel}: OK: {detail}")
    return EXIT_OK
