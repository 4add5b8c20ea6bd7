"""Rendering alerts for people and services: pure functions, no I/O.

Everything from a feed (titles, paragraphs, snippets, links, feed names) is untrusted:
control characters are removed (no header injection, no terminal escape sequences),
HTML is escaped, Slack/Discord markup is escaped, and only http(s) links become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from watcher.humanize import truncate
from watcher.notify.base import Message

Alert = dict[str, Any]

# C0/C1 controls (CR, LF, ESC, NUL…) and Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"[ \t\xa0]+")

TEST_NOTICE = "This is a test message from watcher: no action is needed."


# --- cleaning untrusted text -------------------------------------------------------------


def one_line(text: object, limit: int | None = None) -> str:
    """Text safe for one line (a mail header, a title): controls become spaces."""
    line = _SPACES.sub(" ", _CONTROL.sub(" ", str(text or ""))).strip()
    return truncate(line, limit) if limit else line


def clean_block(text: object) -> str:
    """Multi-line text with every control character but newline removed."""
    cleaned = _CONTROL_BUT_NEWLINE.sub(" ", str(text or "").replace("\r\n", "\n"))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in cleaned.split("\n")).strip()


def http_link(url: object) -> str | None:
    """The URL if it is a plain http(s) URL, else None: `javascript:` never becomes a link."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROL.search(url) or " " in url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def when(value: object) -> str:
    """An ISO-8601 time from an alert as `2025-05-16 10:30 UTC`; '' when unknown."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return one_line(value, 40)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- reading an alert body ----------------------------------------------------------------


def headline(alert: Alert) -> str:
    if alert.get("type") == "health":
        from watcher.notify import render_health

        return render_health.headline(alert)
    return one_line(alert.get("item", {}).get("title")) or "(untitled)"


def topic_titles(alert: Alert) -> list[str]:
    return [one_line(t.get("title") or t.get("name")) for t in alert.get("topics", [])]


def feed_name(alert: Alert) -> str:
    feed = alert.get("item", {}).get("feed") or alert.get("feed") or {}  # health: top level
    return one_line(feed.get("name") or feed.get("url")) or "unknown source"


def item_link(alert: Alert) -> str | None:
    return http_link(alert.get("item", {}).get("link"))


def paragraphs(alert: Alert) -> list[str]:
    return [p for p in (clean_block(p) for p in alert.get("item", {}).get("paragraphs", [])) if p]


def quoted_body(alert: Alert, escape: Callable[[str], str]) -> list[str]:
    """Chat-markdown lines: each topic's snippet quoted, a blank line, the new paragraphs."""
    lines = [f"> {escape(s)}" for t in alert.get("topics", []) if (s := one_line(t.get("snippet")))]
    new = paragraphs(alert)
    if new:
        lines.append("")
        lines.extend(escape(p) for p in new)
    return lines


def also_reported(alert: Alert) -> list[tuple[str, str, str | None]]:
    """(feed, title, link) of each republication."""
    return [
        (one_line(r.get("feed")), one_line(r.get("title")), http_link(r.get("link")))
        for r in alert.get("also_reported_by", [])
    ]


def is_update(alert: Alert) -> bool:
    return alert.get("kind") == "update"


def subject_for(alert: Alert) -> str:
    """`Istanbul peace talks: Delegations meet` (with `Update:` for an update)."""
    if alert.get("type") == "health":
        return headline(alert)  # `Feed failing: BBC World`
    topics = ", ".join(topic_titles(alert)) or "watcher"
    text = f"{topics}: {headline(alert)}"
    return f"Update: {text}" if is_update(alert) else text


def email_subject(message: Message, prefix: str) -> str:
    prefix = one_line(prefix)
    if message.digest:
        topics = _unique(t for a in message.alerts for t in topic_titles(a))
        count = len(message.alerts)
        text = f"Digest: {count} alert{'s' * (count != 1)} ({', '.join(topics)})"
    else:
        text = subject_for(message.alerts[0])
    if message.test:
        text = f"TEST: {text}"
    return one_line(f"{prefix} {text}" if prefix else text, 250)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# --- plain text (email text part, console) -----------------------------------------------


def alert_text(alert: Alert) -> str:
    """A readable plain-text block: topics, headline, source, time, link, why, what is new."""
    if alert.get("type") == "health":
        from watcher.notify import render_health

        return render_health.text(alert)
    lines = [("UPDATE: " if is_update(alert) else "") + ", ".join(topic_titles(alert))]
    lines.append(headline(alert))
    lines.append("")
    source = feed_name(alert)
    published = when(alert.get("item", {}).get("published"))
    lines.append(f"Source:    {source}")
    if published:
        lines.append(f"Published: {published}")
    link = item_link(alert)
    if link:
        lines.append(f"Link:      {link}")
    lines.append("")
    for topic in alert.get("topics", []):
        terms = ", ".join(one_line(t) for t in topic.get("terms", []))
        lines.append(f"Matched {one_line(topic.get('title') or topic.get('name'))}: {terms}")
        snippet = one_line(topic.get("snippet"))
        if snippet:
            lines.append(f"  “{snippet}”")
    new = paragraphs(alert)
    if new:
        lines.append("")
        lines.append("New in this item:" if is_update(alert) else "The item:")
        for paragraph in new:
            lines.append("")
            lines.append(paragraph)
    reported = also_reported(alert)
    if reported:
        lines.append("")
        lines.append("Also reported by:")
        for feed, title, rlink in reported:
            lines.append(f"  - {feed}: {title}" + (f" <{rlink}>" if rlink else ""))
    return "\n".join(lines)


def text_body(message: Message) -> str:
    parts = []
    if message.test:
        parts.append(TEST_NOTICE)
    if message.digest:
        count = len(message.alerts)
        parts.append(f"watcher digest: {count} alert{'s' * (count != 1)}")
    rule = "\n\n" + "-" * 60 + "\n\n"
    body = rule.join(alert_text(a) for a in message.alerts)
    ids = ", ".join(message.alert_ids or (message.id,))
    return "\n\n".join([*parts, body]) + f"\n\n-- \nwatcher alert {ids}\n"


# --- HTML (email) ------------------------------------------------------------------------


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _a(link: str | None, text: str) -> str:
    return f'<a href="{_h(link)}">{_h(text)}</a>' if link else _h(text)


def alert_html(alert: Alert) -> str:
    if alert.get("type") == "health":
        from watcher.notify import render_health

        return render_health.html(alert)
    topics = ", ".join(topic_titles(alert))
    out = [
        '<div style="margin:0 0 24px 0">',
        f'<p style="margin:0;color:#555;font-size:13px">{"Update · " if is_update(alert) else ""}'
        f"{_h(topics)}</p>",
        f'<h2 style="margin:4px 0 8px 0;font-size:18px">{_a(item_link(alert), headline(alert))}'
        "</h2>",
    ]
    meta = [_h(feed_name(alert))]
    published = when(alert.get("item", {}).get("published"))
    if published:
        meta.append(_h(published))
    out.append(f'<p style="margin:0 0 12px 0;color:#555;font-size:13px">{" · ".join(meta)}</p>')
    for topic in alert.get("topics", []):
        terms = ", ".join(one_line(t) for t in topic.get("terms", []))
        name = one_line(topic.get("title") or topic.get("name"))
        out.append(
            f'<p style="margin:0 0 4px 0;font-size:13px">Matched <b>{_h(name)}</b>: {_h(terms)}</p>'
        )
        snippet = one_line(topic.get("snippet"))
        if snippet:
            out.append(
                '<blockquote style="margin:0 0 8px 0;padding-left:8px;border-left:3px solid #ccc;'
                f'color:#333">{_h(snippet)}</blockquote>'
            )
    new = paragraphs(alert)
    if new:
        label = "New in this item" if is_update(alert) else "The item"
        out.append(f'<p style="margin:12px 0 4px 0;font-weight:bold">{label}</p>')
        out.extend(f"<p>{_h(p).replace(chr(10), '<br>')}</p>" for p in new)
    reported = also_reported(alert)
    if reported:
        out.append('<p style="margin:12px 0 4px 0;font-weight:bold">Also reported by</p><ul>')
        out.extend(f"<li>{_h(feed)}: {_a(rlink, title)}</li>" for feed, title, rlink in reported)
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def html_body(message: Message) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head>',
        '<body style="font-family:sans-serif;max-width:700px">',
    ]
    if message.test:
        parts.append(
            f'<p style="padding:8px;background:#ffe9a8;font-weight:bold">{_h(TEST_NOTICE)}</p>'
        )
    if message.digest:
        count = len(message.alerts)
        parts.append(
            f'<h1 style="font-size:20px">watcher digest: {count} alert{"s" * (count != 1)}</h1>'
        )
    parts.append(
        '\n<hr style="border:0;border-top:1px solid #ddd">\n'.join(
            alert_html(a) for a in message.alerts
        )
    )
    ids = ", ".join(message.alert_ids or (message.id,))
    parts.append(f'<p style="color:#999;font-size:11px">watcher alert {_h(ids)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


# --- console ------------------------------------------------------------------------------

BOLD, DIM, CYAN, YELLOW, RESET = "\033[1m", "\033[2m", "\033[36m", "\033[33m", "\033[0m"


def console_block(message: Message, color: bool = False) -> str:
    """A framed block for a terminal; colour only when asked (the text is already clean)."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    rule = paint("─" * 72, DIM)
    blocks = []
    if message.test:
        blocks.append(paint(TEST_NOTICE, YELLOW))
    if message.digest:
        blocks.append(paint(f"watcher digest: {len(message.alerts)} alerts", BOLD))
    for alert in message.alerts:
        lines = alert_text(alert).split("\n")
        lines[0] = paint(lines[0], CYAN)
        lines[1] = paint(lines[1], BOLD)
        lines.extend(["", paint(f"alert {alert.get('id', '')}", DIM)])
        blocks.append("\n".join(lines))
    return "\n".join([rule, f"\n{rule}\n".join(blocks), rule]) + "\n"


# --- Slack incoming webhook: `text` fallback + Block Kit `blocks` -------------------------

SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_MAX_BLOCKS = 50


def slack_escape(text: str) -> str:
    """Slack treats &, < and > as markup (`<!channel>` would notify everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(link: str | None, text: str) -> str:
    if not link:
        return slack_escape(text)
    target = link.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{target}|{slack_escape(text)}>"


def _slack_alert_blocks(alert: Alert) -> list[dict[str, Any]]:
    if alert.get("type") == "health":
        from watcher.notify import render_health

        return render_health.slack_blocks(alert, SLACK_SECTION_LIMIT)
    topics = slack_escape(", ".join(topic_titles(alert)))
    kind = "Update · " if is_update(alert) else ""
    meta = [slack_escape(feed_name(alert))]
    published = when(alert.get("item", {}).get("published"))
    if published:
        meta.append(published)
    lines = [f"*{kind}{topics}*", _slack_link(item_link(alert), headline(alert)), " · ".join(meta)]
    lines.extend(quoted_body(alert, slack_escape))
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SLACK_SECTION_LIMIT)},
        }
    ]
    context = []
    terms = _unique(
        one_line(t) for topic in alert.get("topics", []) for t in topic.get("terms", [])
    )
    if terms:
        context.append("Matched: " + slack_escape(", ".join(terms)))
    reported = also_reported(alert)
    if reported:
        context.append(
            "Also reported by: "
            + ", ".join(_slack_link(rlink, feed) for feed, _title, rlink in reported)
        )
    if context:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": truncate(c, SLACK_SECTION_LIMIT)} for c in context
                ],
            }
        )
    return blocks


def slack_body(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (notification fallback) and `blocks`."""
    if message.digest:
        title = f"watcher digest: {len(message.alerts)} alerts"
        fallback = title
    else:
        alert = message.alerts[0]
        title = headline(alert)
        fallback = subject_for(alert)
    if message.test:
        title, fallback = f"TEST: {title}", f"{TEST_NOTICE} {fallback}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(title, SLACK_HEADER_LIMIT)},
        }
    ]
    shown = 0
    for alert in message.alerts:
        alert_blocks = _slack_alert_blocks(alert)
        if len(blocks) + len(alert_blocks) + 2 > SLACK_MAX_BLOCKS:
            break
        if message.digest:
            blocks.append({"type": "divider"})
        blocks.extend(alert_blocks)
        shown += 1
    if shown < len(message.alerts):
        rest = len(message.alerts) - shown
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {rest} more"}]}
        )
    return {"text": slack_escape(truncate(fallback, SLACK_SECTION_LIMIT)), "blocks": blocks}


# --- Discord webhook: `content` + `embeds` ------------------------------------------------

DISCORD_CONTENT_LIMIT = 2000
DISCORD_TITLE_LIMIT = 256
DISCORD_DESCRIPTION_LIMIT = 4096
DISCORD_FIELD_VALUE_LIMIT = 1024
DISCORD_MAX_EMBEDS = 10
DISCORD_TOTAL_LIMIT = 6000
_DISCORD_MARKUP = re.compile(r"([\\*_~`|\[\]()<>#@])")


def discord_escape(text: str) -> str:
    """Backslash Discord markdown so a title cannot forge links, mentions or formatting."""
    return _DISCORD_MARKUP.sub(r"\\\1", text)


def _discord_embed(alert: Alert) -> dict[str, Any]:
    if alert.get("type") == "health":
        from watcher.notify import render_health

        return render_health.discord_embed(alert, DISCORD_TITLE_LIMIT, DISCORD_FIELD_VALUE_LIMIT)
    description = quoted_body(alert, discord_escape)
    embed: dict[str, Any] = {
        "title": truncate(
            ("Update: " if is_update(alert) else "") + headline(alert), DISCORD_TITLE_LIMIT
        ),
        "description": truncate("\n".join(description), DISCORD_DESCRIPTION_LIMIT // 2),
        "fields": [],
        "footer": {"text": truncate(feed_name(alert), 200)},
    }
    link = item_link(alert)
    if link:
        embed["url"] = link
    published = alert.get("item", {}).get("published")
    if isinstance(published, str) and when(published):
        embed["timestamp"] = published
    for topic in alert.get("topics", [])[:5]:
        terms = ", ".join(one_line(t) for t in topic.get("terms", [])) or "-"
        embed["fields"].append(
            {
                "name": truncate(one_line(topic.get("title") or topic.get("name")), 250),
                "value": truncate(discord_escape(terms), DISCORD_FIELD_VALUE_LIMIT),
                "inline": True,
            }
        )
    reported = also_reported(alert)
    if reported:
        value = "\n".join(
            f"[{discord_escape(feed)}]({rlink})" if rlink else discord_escape(feed)
            for feed, _title, rlink in reported
        )
        embed["fields"].append(
            {
                "name": "Also reported by",
                "value": truncate(value, DISCORD_FIELD_VALUE_LIMIT),
                "inline": False,
            }
        )
    return embed


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


def discord_body(message: Message) -> dict[str, Any]:
    """A Discord execute-webhook body; mentions are disabled (`allowed_mentions`)."""
    if message.digest:
        content = f"watcher digest: {len(message.alerts)} alerts"
    else:
        content = ", ".join(topic_titles(message.alerts[0]))
        if message.alerts[0].get("type") == "health":
            content = "Feed health"
        if is_update(message.alerts[0]):
            content = f"Update: {content}"
    if message.test:
        content = f"{TEST_NOTICE} {content}"
    content = discord_escape(content)
    embeds: list[dict[str, Any]] = []
    total = 0
    for alert in message.alerts:
        embed = _discord_embed(alert)
        size = _embed_size(embed)
        if len(embeds) == DISCORD_MAX_EMBEDS or total + size > DISCORD_TOTAL_LIMIT:
            break
        embeds.append(embed)
        total += size
    if len(embeds) < len(message.alerts):
        content += f" (showing {len(embeds)} of {len(message.alerts)})"
    return {
        "content": truncate(content, DISCORD_CONTENT_LIMIT),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


# --- ntfy JSON publish --------------------------------------------------------------------

NTFY_MESSAGE_LIMIT = 3500  # characters; ntfy's limit is 4096 bytes before it attaches a file


def ntfy_topic_url(url: str) -> tuple[str, str]:
    """(root URL to POST to, topic) from a topic URL such as https://ntfy.sh/alerts."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    base, _, topic = path.rpartition("/")
    return parts._replace(path=base + "/", query="", fragment="").geturl(), topic


def ntfy_body(message: Message, topic: str) -> dict[str, Any]:
    """ntfy's JSON publish: `topic`, `title`, `message`, `click`, `tags`."""
    body: dict[str, Any] = {"topic": topic}
    if message.digest:
        count = len(message.alerts)
        body["title"] = f"watcher digest: {count} alert{'s' * (count != 1)}"
        lines = [f"• {subject_for(a)} ({feed_name(a)})" for a in message.alerts]
        text = "\n".join(lines)
        tags = _unique(t.get("name", "") for a in message.alerts for t in a.get("topics", []))
    elif message.alerts[0].get("type") == "health":
        from watcher.notify import render_health

        title, text, click, tags = render_health.ntfy_parts(message.alerts[0])
        body["title"] = truncate(title, 250)
        if click:
            body["click"] = click
    else:
        alert = message.alerts[0]
        body["title"] = truncate(subject_for(alert), 250)
        lines = [f"{feed_name(alert)} · {when(alert.get('item', {}).get('published'))}".strip(" ·")]
        lines.extend(
            one_line(t.get("snippet")) for t in alert.get("topics", []) if t.get("snippet")
        )
        lines.extend(paragraphs(alert))
        text = "\n\n".join(lines)
        tags = [one_line(t.get("name")) for t in alert.get("topics", [])]
        link = item_link(alert)
        if link:
            body["click"] = link
    if message.test:
        body["title"] = f"TEST: {body['title']}"
        text = f"{TEST_NOTICE}\n\n{text}"
        tags = ["test_tube", *tags]
    body["message"] = truncate(text, NTFY_MESSAGE_LIMIT)
    body["tags"] = [t for t in tags if t][:10]
    return body
