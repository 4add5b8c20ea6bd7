"""`watcher alerts`, `watcher alerts --retry-dead`, `watcher test-notify CHANNEL`, and the
console channel, through the real entry point `watcher.cli.main`."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from tests.support.http_receiver import HttpReceiver
from tests.support.outbox_data import T0, make_settings, queue_alert, status_of
from tests.support.smtp_server import SmtpServer
from watcher.cli import main
from watcher.notify.delivery import Deliverer
from watcher.store import open_database, outbox


def write_config(tmp_path: Path, channels: str) -> str:
    path = tmp_path / "watcher.yaml"
    path.write_text(f"database: {tmp_path / 'w.db'}\nchannels:\n{channels}")
    return str(path)


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


def test_alerts_lists_recent_alerts_with_status_attempts_and_last_error(db, tmp_path, capsys):
    """`watcher alerts`: newest first, one line each, the last error under a failing one."""
    config = write_config(tmp_path, "  hook: {type: webhook, url: 'http://127.0.0.1:9/h'}\n")
    old = queue_alert(db, channel="hook", title="Old story", created=T0)
    new = queue_alert(db, channel="hook", title="New story", created=T0 + 60)
    outbox.mark_failed(db, [old], next_attempt=T0 + 600, error="HTTP 502 Bad Gateway")

    assert main(["--config", config, "alerts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "status" in lines[0] and "tries" in lines[0]
    assert new in lines[1] and "New story" in lines[1] and "pending" in lines[1]
    assert old in lines[2] and "Old story" in lines[2]
    assert lines[2].split()[3] == "1"  # attempts
    assert "last error: HTTP 502 Bad Gateway" in lines[3]


def test_alerts_filters_by_status_and_limits(db, tmp_path, capsys):
    """--status dead shows only dead alerts; --limit N at most N."""
    config = write_config(tmp_path, "  hook: {type: webhook, url: 'http://127.0.0.1:9/h'}\n")
    ids = [queue_alert(db, channel="hook", title=f"S{n}", created=T0 + n) for n in range(4)]
    outbox.mark_dead(db, [ids[0]], error="HTTP 404 Not Found")

    assert main(["--config", config, "alerts", "--status", "dead"]) == 0
    out = capsys.readouterr().out
    assert ids[0] in out and all(i not in out for i in ids[1:])

    assert main(["--config", config, "alerts", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert ids[3] in out and ids[2] in out and ids[1] not in out and ids[0] not in out


def test_retry_dead_requeues_dead_alerts(db, tmp_path, capsys):
    """`--retry-dead` makes dead alerts pending with a fresh attempt count."""
    config = write_config(tmp_path, "  hook: {type: webhook, url: 'http://127.0.0.1:9/h'}\n")
    ident = queue_alert(db, channel="hook")
    outbox.mark_dead(db, [ident], error="HTTP 404 Not Found")

    assert main(["--config", config, "alerts", "--retry-dead"]) == 0
    assert "1 dead alert queued again" in capsys.readouterr().out
    alert = status_of(db, ident)
    assert alert.status == "pending" and alert.attempts == 0


def test_test_notify_webhook_reports_the_answer_and_bypasses_the_outbox(db, tmp_path, capsys):
    """test-notify sends a marked test message now and prints what the server answered."""
    with HttpReceiver() as hook:
        hook.respond(202, b"queued")
        config = write_config(tmp_path, f"  hook: {{type: webhook, url: '{hook.url()}'}}\n")
        assert main(["--config", config, "test-notify", "hook"]) == 0
        body = hook.requests[0].json()
    out = capsys.readouterr().out
    assert "hook: OK" in out and "HTTP 202" in out and "queued" in out
    assert body["kind"] == "test" and "test message" in body["item"]["title"]
    assert outbox.count_by_status(db) == {}


def test_test_notify_failure_exits_1_with_the_reason(tmp_path, capsys):
    """A refused test message exits 1 and says why."""
    with HttpReceiver() as hook:
        hook.respond(403, b"forbidden")
        config = write_config(tmp_path, f"  hook: {{type: webhook, url: '{hook.url()}'}}\n")
        assert main(["--config", config, "test-notify", "hook"]) == 1
    err = capsys.readouterr().err
    assert "hook: FAILED (permanent)" in err and "HTTP 403" in err


def test_test_notify_email_is_marked_as_a_test(tmp_path, capsys):
    """The test mail says it is a test, in the subject and the body."""
    with SmtpServer() as smtp:
        config = write_config(
            tmp_path,
            "  desk:\n    type: email\n    from: w@example.org\n    to: d@example.org\n"
            f"    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n",
        )
        assert main(["--config", config, "test-notify", "desk"]) == 0
        (mail,) = smtp.messages
    assert "250 OK queued as 1" in capsys.readouterr().out
    message = mail.message
    assert message["Subject"].startswith("[watcher] TEST:")
    assert "test message from watcher" in message.get_body(("plain",)).get_content()


def test_test_notify_unknown_channel_is_a_usage_error(tmp_path, capsys):
    """An unknown channel name exits 2 and lists the configured ones."""
    config = write_config(tmp_path, "  screen: {type: console}\n")
    assert main(["--config", config, "test-notify", "desk"]) == 2
    assert "channels: screen" in capsys.readouterr().err


def test_console_channel_prints_a_clean_block(db):
    """console: a readable block; escape sequences from a feed never reach the terminal."""
    queue_alert(db, channel="screen", title="Talks \x1b[2J\x1b]0;pwned\x07 resume")
    stream = io.StringIO()
    settings = make_settings({"screen": {"type": "console", "color": "never"}})

    async def run() -> None:
        deliverer = Deliverer(db, settings, console_stream=stream)
        await deliverer.deliver_due(T0)
        await deliverer.aclose()

    asyncio.run(run())
    out = stream.getvalue()
    assert "Talks [2J ]0;pwned resume" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "Istanbul peace talks" in out and "Example World" in out


def test_console_colour_follows_the_setting(db):
    """color: always paints (ANSI codes); never does not."""
    queue_alert(db, channel="screen")
    stream = io.StringIO()
    settings = make_settings({"screen": {"type": "console", "color": "always"}})
    asyncio.run(Deliverer(db, settings, console_stream=stream).deliver_due(T0))
    assert "\x1b[1m" in stream.getvalue()
