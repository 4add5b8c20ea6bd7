"""Feed health alerts render sensibly on every channel: pure rendering, no servers.

A health alert is not shaped like a topic alert (no item, no topics), so each renderer
must show what happened to which feed, since when and what to do — and clean the feed's
name, which comes from the feed and is untrusted, like any other feed text.
"""

from __future__ import annotations

import io

import pytest

from tests.support.outbox_data import T0, make_settings
from watcher.errors import HTTPStatusError
from watcher.health import HealthRecord, HealthSettings, after_failure, classify, health_body
from watcher.notify import render
from watcher.notify.base import Message
from watcher.notify.commands import print_alerts
from watcher.notify.email import build_email
from watcher.store.outbox import OutboxAlert

URL = "https://news.example.org/rss"
HOSTILE_NAME = "Evil <b>News</b>\r\nBcc: victim@example.org\x1b[2J"


def health_alert(name: str = "Example World") -> dict:
    transition = after_failure(
        HealthRecord(),
        problem=classify(HTTPStatusError(URL, 403)),
        failures=5,
        failing_since=T0 - 3600,
        now=T0,
        settings=HealthSettings(),
    )
    (notice,) = transition.notices
    return health_body(notice, alert_id="h1", created=T0, feed_name=name, feed_url=URL)


def message(alert: dict | None = None) -> Message:
    return Message.single(alert or health_alert(), T0)


def test_plain_text_and_console_say_what_which_feed_since_when_and_what_to_do() -> None:
    for text in (render.text_body(message()), render.console_block(message())):
        assert "Feed failing: Example World" in text
        assert "Since:" in text and "2025-06-15 14:06 UTC" in text
        assert "HTTP 403" in text and "What to do:" in text and "user_agent" in text
        assert "Matched" not in text and "The item" not in text  # no topic-alert scaffolding


def test_email_subject_and_html_part() -> None:
    settings = make_settings(
        {"desk": {"type": "email", "from": "w@example.org", "to": ["d@example.org"],
                  "smtp": {"host": "127.0.0.1"}}}
    ).channels["desk"]  # fmt: skip
    mail = build_email(message(), settings, T0)
    assert mail["Subject"] == "[watcher] Feed failing: Example World"
    html = mail.get_body(("html",)).get_content()
    assert "Feed failing: Example World" in html and f'href="{URL}"' in html
    assert "What to do:" in html


def test_a_hostile_feed_name_cannot_inject_headers_markup_or_escapes() -> None:
    msg = message(health_alert(HOSTILE_NAME))
    settings = make_settings(
        {"desk": {"type": "email", "from": "w@example.org", "to": ["d@example.org"],
                  "smtp": {"host": "127.0.0.1"}}}
    ).channels["desk"]  # fmt: skip
    mail = build_email(msg, settings, T0)
    assert mail["Bcc"] is None and "\n" not in mail["Subject"]
    assert "<b>News</b>" not in mail.get_body(("html",)).get_content()
    assert "\x1b" not in render.console_block(msg)
    assert "<b>" not in render.slack_body(msg)["text"]


def test_slack_discord_and_ntfy_bodies() -> None:
    slack = render.slack_body(message())
    assert slack["text"] == "Feed failing: Example World"
    section = slack["blocks"][1]["text"]["text"]
    assert "Feed failing" in section and "What to do:" in section
    discord = render.discord_body(message())
    assert discord["content"] == "Feed health"
    (embed,) = discord["embeds"]
    assert embed["title"] == "Feed failing: Example World" and embed["url"] == URL
    assert any(f["name"] == "Why" and "HTTP 403" in f["value"] for f in embed["fields"])
    ntfy = render.ntfy_body(message(), "ops")
    assert ntfy["title"] == "Feed failing: Example World" and ntfy["click"] == URL
    assert "What to do:" in ntfy["message"] and "warning" in ntfy["tags"]


@pytest.mark.parametrize("state", ["failing", "stale", "recovered", "moved", "gone"])
def test_every_state_has_its_own_headline(state: str) -> None:
    alert = {**health_alert(), "state": state}
    assert render.headline(alert).endswith(": Example World")
    assert render.headline(alert) != "(untitled)"


def test_the_json_webhook_body_is_the_health_alert_itself() -> None:
    alert = health_alert()
    assert message(alert).body() == alert


def test_watcher_alerts_lists_a_health_alert_by_its_headline() -> None:
    row = OutboxAlert("h1", None, "ops", "health", "pending", T0, 0, T0, None, None, health_alert())
    out = io.StringIO()
    print_alerts([row], now=T0, out=out)
    assert "health" in out.getvalue() and "Feed failing: Example World" in out.getvalue()
