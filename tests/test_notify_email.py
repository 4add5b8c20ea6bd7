"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1).

Each received mail is parsed back with the standard library: headers, both parts, what
a feed could smuggle into either, threading, TLS and login.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.outbox_data import T0, insert_item, make_settings, queue_alert, status_of
from tests.support.smtp_server import SmtpServer
from watcher.notify.delivery import Deliverer, DeliveryReport
from watcher.store import open_database, outbox

PASSWORD = "pa55-w0rd-never-logged"


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def tls_smtp(tls_server_context) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH only over TLS, certificate from a private CA."""
    with SmtpServer(tls=tls_server_context, login=("watcher", PASSWORD)) as server:
        yield server


def email_channel(server: SmtpServer, **smtp: Any) -> dict[str, Any]:
    settings = {"host": server.host, "port": server.port, "security": "none", **smtp}
    return {
        "desk": {
            "type": "email",
            "from": "Watcher <watcher@alerts.example.org>",
            "to": ["desk@example.org", "editor@example.org"],
            "smtp": settings,
        }
    }


def deliver(db, settings, now: float = T0) -> DeliveryReport:
    async def run() -> DeliveryReport:
        deliverer = Deliverer(db, settings, rng=random.Random(3), clock=lambda: now)
        try:
            return await deliverer.deliver_due(now)
        finally:
            await deliverer.aclose()

    return asyncio.run(run())


def parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    markup = message.get_body(preferencelist=("html",)).get_content()
    return text, markup


# --- the message ----------------------------------------------------------------------


def test_mail_has_headers_and_a_text_and_an_html_part(db, smtp):
    """One mail per alert: From/To/Subject/Date/Message-ID, and both parts with everything."""
    original = insert_item(db, key="guid:a", title="Talks")
    ident = queue_alert(db, channel="desk", item_id=original)
    copy = insert_item(
        db,
        key="guid:b",
        title="Istanbul talks (wire copy)",
        link="https://other.example.net/1",
        feed_url="https://other.example.net/rss",
        feed_name="Other Outlet",
    )
    outbox.add_republication(db, original_id=original, item_id=copy, now=T0)

    report = deliver(db, make_settings(email_channel(smtp)))

    assert report.sent == 1
    (mail,) = smtp.messages
    assert mail.mail_from == "watcher@alerts.example.org"
    assert mail.rcpt_tos == ("desk@example.org", "editor@example.org")
    message = mail.message
    assert message["From"] == "Watcher <watcher@alerts.example.org>"
    assert message["To"] == "desk@example.org, editor@example.org"
    assert message["Subject"] == (
        "[watcher] Istanbul peace talks: Russian and Ukrainian delegations meet in Istanbul"
    )
    assert message["Message-ID"] == f"<{ident}@alerts.example.org>"
    assert message["Date"] is not None and message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] is None
    assert message.get_content_type() == "multipart/alternative"
    text, markup = parts(message)
    for body in (text, markup):
        assert "Istanbul peace talks" in body  # topic
        assert "Russian and Ukrainian delegations meet in Istanbul" in body  # headline
        assert "Example World" in body  # source
        assert "2025-06-15 14:30 UTC" in body  # time
        assert "https://news.example.org/world/istanbul-talks" in body  # link
        assert "istanbul, talks" in body  # matched terms
        assert "met in Istanbul on Friday for the first direct talks" in body  # snippet
        assert "first direct talks in three years." in body  # the new paragraph
        assert "Also reported by" in body and "Other Outlet" in body
    assert '<a href="https://news.example.org/world/istanbul-talks">' in markup


def test_script_in_a_title_is_escaped_in_the_html_part(db, smtp):
    """Item text is untrusted: markup from a feed arrives as text, never as HTML."""
    queue_alert(
        db,
        channel="desk",
        title="<script>alert('x')</script> Talks",
        paragraphs=['<img src=x onerror="steal()"> Delegations met in Istanbul on Friday.'],
        link="javascript:alert(1)",
    )
    deliver(db, make_settings(email_channel(smtp)))
    text, markup = parts(smtp.messages[0].message)
    assert (
        "<script>" not in markup and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in markup
    )
    assert "<img" not in markup and "&lt;img src=x onerror=&quot;steal()&quot;&gt;" in markup
    assert "javascript:" not in markup  # not an http(s) link: shown as plain text, no href
    assert "<script>alert('x')</script> Talks" in text


def test_crlf_in_a_title_cannot_inject_headers_or_recipients(db, smtp):
    """CR/LF in a title stays inside the Subject: no Bcc, no extra header, no extra rcpt."""
    queue_alert(
        db,
        channel="desk",
        title="Talks\r\nBcc: victim@evil.example\r\nX-Injected: yes\n\nbody",
    )
    deliver(db, make_settings(email_channel(smtp)))
    (mail,) = smtp.messages
    message = mail.message
    assert mail.rcpt_tos == ("desk@example.org", "editor@example.org")
    assert message["Bcc"] is None and message["X-Injected"] is None
    subject = message["Subject"]
    assert "\r" not in subject and "\n" not in subject
    assert subject.endswith("Talks Bcc: victim@evil.example X-Injected: yes body")
    raw_headers = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in raw_headers and b"\r\nX-Injected:" not in raw_headers


def test_an_update_threads_under_the_first_alert(db, smtp):
    """An update carries In-Reply-To/References to its item's first alert on the channel."""
    first = queue_alert(db, channel="desk", key="guid:x")
    settings = make_settings(email_channel(smtp))
    deliver(db, settings, now=T0)
    update = queue_alert(
        db, channel="desk", key="guid:x", kind="update", thread=first, created=T0 + 600
    )
    deliver(db, settings, now=T0 + 600)
    original, follow_up = (m.message for m in smtp.messages)
    assert follow_up["Message-ID"] == f"<{update}@alerts.example.org>"
    assert follow_up["In-Reply-To"] == original["Message-ID"]
    assert follow_up["References"] == original["Message-ID"]
    assert follow_up["Subject"].startswith("[watcher] Update: Istanbul peace talks:")


def test_digest_channel_sends_one_mail_with_every_alert_of_the_period(db, smtp):
    """digest: one mail per period holding all of its alerts."""
    start = T0 - T0 % 3600
    titles = [f"Development number {n}" for n in range(4)]
    for n, title in enumerate(titles):
        queue_alert(db, channel="desk", title=title, created=start + 10 * n)
    channel = email_channel(smtp)
    channel["desk"]["digest"] = "1h"
    report = deliver(db, make_settings(channel), now=start + 3600)
    assert report.sent == 4 and report.messages == 1
    (mail,) = smtp.messages
    message = mail.message
    assert message["Subject"] == "[watcher] Digest: 4 alerts (Istanbul peace talks)"
    assert message["In-Reply-To"] is None
    text, markup = parts(message)
    for title in titles:
        assert title in text and title in markup


# --- TLS and login ----------------------------------------------------------------------


def test_starttls_with_a_private_ca_and_login_over_tls(db, tls_smtp, ca_file):
    """security: starttls trusts `tls_ca_file`; the login happens inside TLS."""
    settings = make_settings(
        email_channel(
            tls_smtp,
            security="starttls",
            tls_ca_file=ca_file,
            username="watcher",
            password=PASSWORD,
        )
    )
    ident = queue_alert(db, channel="desk")
    assert deliver(db, settings).sent == 1
    (mail,) = tls_smtp.messages
    assert mail.tls and mail.login == "watcher"
    assert status_of(db, ident).status == "sent"


def test_implicit_tls_with_login(db, ca, ca_file):
    """security: tls speaks TLS from the first byte (port 465 style), then logs in."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with SmtpServer(implicit_tls=context, login=("watcher", PASSWORD)) as server:
        settings = make_settings(
            email_channel(
                server, security="tls", tls_ca_file=ca_file, username="watcher", password=PASSWORD
            )
        )
        queue_alert(db, channel="desk")
        assert deliver(db, settings).sent == 1
        (mail,) = server.messages
    assert mail.tls and mail.login == "watcher"


def test_starttls_rejects_a_certificate_the_system_does_not_trust(db, tls_smtp):
    """Without `tls_ca_file` the self-signed chain fails verification: nothing is sent."""
    settings = make_settings(
        email_channel(tls_smtp, security="starttls", username="watcher", password=PASSWORD)
    )
    ident = queue_alert(db, channel="desk")
    report = deliver(db, settings)
    alert = status_of(db, ident)
    assert report.sent == 0 and alert.status == "pending" and alert.attempts == 1
    assert "certificate" in alert.last_error.lower()
    assert tls_smtp.messages == [] and tls_smtp.auth_attempts == []


def test_wrong_password_is_permanent_and_never_shown(db, tls_smtp, ca_file, caplog):
    """A refused login (535) is dead at once; the password is in no error and no log line."""
    settings = make_settings(
        email_channel(
            tls_smtp,
            security="starttls",
            tls_ca_file=ca_file,
            username="watcher",
            password=PASSWORD + "-wrong",
        )
    )
    ident = queue_alert(db, channel="desk")
    with caplog.at_level(logging.DEBUG):
        deliver(db, settings)
    alert = status_of(db, ident)
    assert alert.status == "dead" and "535" in alert.last_error
    assert PASSWORD not in alert.last_error
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert PASSWORD not in repr(settings)


def test_a_password_over_an_unencrypted_connection_is_a_config_error():
    """username with `security: none` is refused by validation, before any connection."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unencrypted"):
        make_settings(
            {
                "desk": {
                    "type": "email",
                    "from": "w@example.org",
                    "to": "d@example.org",
                    "smtp": {"host": "127.0.0.1", "security": "none", "username": "u"},
                }
            }
        )


def test_starttls_required_but_not_offered_is_permanent(db, smtp):
    """A server without STARTTLS is never used in clear text when starttls is configured."""
    ident = queue_alert(db, channel="desk")
    deliver(db, make_settings(email_channel(smtp, security="starttls")))
    alert = status_of(db, ident)
    assert alert.status == "dead" and "STARTTLS" in alert.last_error
    assert smtp.messages == []


# --- faults -----------------------------------------------------------------------------


def test_smtp_451_is_retried_and_then_accepted(db, smtp):
    """A 4xx reply is temporary: the alert is retried and delivered once."""
    ident = queue_alert(db, channel="desk")
    smtp.reply_next("451 4.3.0 Try again later")
    settings = make_settings(email_channel(smtp))
    deliver(db, settings, now=T0)
    alert = status_of(db, ident)
    assert alert.status == "pending" and alert.attempts == 1 and "451" in alert.last_error
    deliver(db, settings, now=alert.next_attempt)
    done = status_of(db, ident)
    assert done.status == "sent" and done.attempts == 2
    assert smtp.data_commands == 2 and len(smtp.messages) == 1


def test_smtp_550_is_dead_and_shown_by_watcher_alerts(db, smtp, tmp_path, capsys):
    """A 5xx reply is permanent: dead at once, visible in `watcher alerts` with the reply."""
    from watcher.cli import main

    config = tmp_path / "watcher.yaml"
    config.write_text(
        f"database: {tmp_path / 'w.db'}\n"
        "channels:\n"
        "  desk:\n"
        "    type: email\n"
        "    from: watcher@alerts.example.org\n"
        "    to: desk@example.org\n"
        f"    smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    )
    ident = queue_alert(db, channel="desk")
    smtp.reply_next("550 5.7.1 Message rejected as spam")
    report = deliver(db, make_settings(email_channel(smtp)))
    assert report.dead == 1 and status_of(db, ident).status == "dead"

    assert main(["--config", str(config), "alerts", "--status", "dead"]) == 0
    out = capsys.readouterr().out
    assert ident in out and "dead" in out
    assert "550 5.7.1 Message rejected as spam" in out


def test_smtp_server_down_is_retried(db):
    """Connection refused counts an attempt and schedules a retry."""
    from tests.support.feed_server import unused_port

    port = unused_port()
    ident = queue_alert(db, channel="desk")
    channel = email_channel(SmtpServer())
    channel["desk"]["smtp"]["port"] = port
    deliver(db, make_settings(channel))
    alert = status_of(db, ident)
    assert alert.status == "pending" and alert.attempts == 1
    assert f"cannot reach 127.0.0.1:{port}" in alert.last_error
