"""Rendering feed health alerts (`{"type": "health", …}`) for people: pure, no I/O.

watcher.notify.render hands a health alert here from each of its entry points, so every
channel (email, console, Slack, Discord, ntfy, Apprise) shows one readably: what happened
to which feed, since when, and what to do. The same cleaning applies as for topic alerts:
the feed's name and URL come from the feed and are untrusted.
"""

from __future__ import annotations

from typing import Any

from watcher.humanize import truncate
from watcher.notify.render import (
    Alert,
    _h,
    clean_block,
    discord_escape,
    http_link,
    one_line,
    slack_escape,
    when,
)

TITLES = {
    "failing": "Feed failing",
    "stale": "Feed silent",
    "recovered": "Feed recovered",
    "moved": "Feed moved",
    "gone": "Feed gone",
}
NTFY_TAGS = {"recovered": "white_check_mark", "moved": "arrow_right"}
DISCORD_COLORS = {"recovered": 0x2E7D32, "moved": 0x1565C0, "stale": 0xF9A825}


def is_health(alert: Alert) -> bool:
    return alert.get("type") == "health"


def state(alert: Alert) -> str:
    return one_line(alert.get("state"), 20) or "unknown"


def feed_label(alert: Alert) -> str:
    feed = alert.get("feed") or {}
    return one_line(feed.get("name") or feed.get("url"), 200) or "unknown feed"


def feed_link(alert: Alert) -> str | None:
    return http_link((alert.get("feed") or {}).get("url"))


def headline(alert: Alert) -> str:
    """`Feed failing: BBC World`."""
    return f"{TITLES.get(state(alert), 'Feed health')}: {feed_label(alert)}"


def facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) lines: the feed, its URL, since when, why, where it moved."""
    rows = [("Feed", feed_label(alert))]
    url = one_line((alert.get("feed") or {}).get("url"), 500)
    if url:
        rows.append(("URL", url))
    since = when(alert.get("since"))
    if since:
        rows.append(("Since", since))
    reason = one_line(alert.get("reason"), 1000)
    if reason:
        rows.append(("Why", reason))
    moved = one_line(alert.get("moved_to"), 500)
    if moved:
        rows.append(("Moved to", moved))
    return rows


def advice(alert: Alert) -> str:
    return clean_block(alert.get("advice"))


def text(alert: Alert) -> str:
    """Plain text (email text part, console, Apprise): same shape as a topic alert's."""
    lines = [f"Feed health: {state(alert)}", headline(alert), ""]
    width = max(len(label) for label, _ in facts(alert)) + 1
    lines.extend(f"{label + ':':<{width}} {value}" for label, value in facts(alert))
    what = advice(alert)
    if what:
        lines.extend(["", f"What to do: {what}"])
    return "\n".join(lines)


def html(alert: Alert) -> str:
    link = feed_link(alert)
    title = _h(headline(alert))
    if link:
        title = f'<a href="{_h(link)}">{title}</a>'
    out = [
        '<div style="margin:0 0 24px 0">',
        f'<p style="margin:0;color:#555;font-size:13px">Feed health · {_h(state(alert))}</p>',
        f'<h2 style="margin:4px 0 8px 0;font-size:18px">{title}</h2>',
        '<table style="font-size:14px;border-collapse:collapse">',
    ]
    out.extend(
        f'<tr><td style="padding:2px 12px 2px 0;color:#555">{_h(label)}</td>'
        f"<td>{_h(value)}</td></tr>"
        for label, value in facts(alert)
    )
    out.append("</table>")
    what = advice(alert)
    if what:
        out.append(f'<p style="margin:12px 0 0 0"><b>What to do:</b> {_h(what)}</p>')
    out.append("</div>")
    return "\n".join(out)


def slack_blocks(alert: Alert, limit: int) -> list[dict[str, Any]]:
    lines = [f"*{slack_escape(headline(alert))}*"]
    lines.extend(f"{slack_escape(label)}: {slack_escape(value)}" for label, value in facts(alert))
    what = advice(alert)
    if what:
        lines.extend(["", f"*What to do:* {slack_escape(what)}"])
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), limit)}}
    ]


def discord_embed(alert: Alert, title_limit: int, field_limit: int) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": truncate(headline(alert), title_limit),
        "description": truncate(discord_escape(advice(alert)), 2048),
        "fields": [
            {"name": label, "value": truncate(discord_escape(value), field_limit), "inline": False}
            for label, value in facts(alert)
        ],
        "color": DISCORD_COLORS.get(state(alert), 0xC62828),
        "footer": {"text": "watcher feed health"},
    }
    link = feed_link(alert)
    if link:
        embed["url"] = link
    return embed


def ntfy_parts(alert: Alert) -> tuple[str, str, str | None, list[str]]:
    """(title, message, click URL, tags) for an ntfy publish."""
    lines = [f"{label}: {value}" for label, value in facts(alert)]
    what = advice(alert)
    if what:
        lines.append(f"What to do: {what}")
    tag = NTFY_TAGS.get(state(alert), "warning")
    return headline(alert), "\n".join(lines), feed_link(alert), [tag, "feed-health"]
