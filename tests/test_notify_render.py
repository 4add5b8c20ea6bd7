"""Pure parts of delivery: cleaning untrusted text, rendering, and the retry/digest/cap
arithmetic, with fixed times and a seeded random generator."""

from __future__ import annotations

import random
from email.message import EmailMessage

import pytest

from tests.support.outbox_data import T0, make_settings
from watcher.alerts import TopicHit, build_alert
from watcher.model import Item
from watcher.notify import render, schedule
from watcher.notify.base import Message, digest_id
from watcher.notify.email import build_email
from watcher.notify.webhook import parse_retry_after, redact_url


def alert(title: str = "Talks resume", **item) -> dict:
    return build_alert(
        alert="a1",
        kind="new",
        created=T0,
        item=Item(
            key="k", title=title, link=item.pop("link", "https://x.example/1"), published=None
        ),
        new_paragraphs=item.pop("paragraphs", ["First paragraph."]),
        feed_name="Feed",
        feed_url="https://x.example/rss",
        topics=[TopicHit("t", "Topic", ["talks"], "snippet")],
    )


# --- cleaning ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("a\r\nBcc: x", "a Bcc: x"),
        ("tab\tand\x0bvt", "tab and vt"),
        ("esc\x1b[31mred", "esc [31mred"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
        ("  many   spaces\xa0 ", "many spaces"),
        ("Зеленский — Türkiye 👍", "Зеленский — Türkiye 👍"),
    ],
)
def test_one_line_removes_controls_and_keeps_any_script(raw, clean):
    """Controls (CR, LF, ESC, C1, separators) become spaces; letters of any script stay."""
    assert render.one_line(raw) == clean


def test_clean_block_keeps_newlines_only():
    """Paragraph text keeps its line breaks but loses every other control character."""
    assert render.clean_block("a\r\nb\x1b[2Jc\x00") == "a\nb [2Jc"


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/a?b=c", True),
        ("HTTP://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("https://exa mple.org/", False),
        ("https://example.org/\r\nX: y", False),
        ("//example.org/", False),
        (None, False),
    ],
)
def test_only_http_links_become_links(url, ok):
    """A feed's link is used as a link only when it is a plain http(s) URL."""
    assert (render.http_link(url) is not None) is ok


def test_when_formats_iso_times_in_utc():
    assert render.when("2025-06-15T16:30:00+02:00") == "2025-06-15 14:30 UTC"
    assert render.when(None) == ""


# --- email ------------------------------------------------------------------------------


def email_settings():
    return make_settings(
        {
            "desk": {
                "type": "email",
                "from": "w@alerts.example.org",
                "to": ["a@example.org"],
                "smtp": {"host": "127.0.0.1"},
            }
        }
    ).channels["desk"]


def test_email_headers_never_carry_line_breaks_from_a_title():
    """The subject is one line whatever the title holds; building never raises."""
    message = Message.single(alert("Hi\r\nBcc: x@evil.example\nSubject: forged"), T0)
    mail = build_email(message, email_settings(), T0)
    assert isinstance(mail, EmailMessage)
    assert "\n" not in mail["Subject"] and mail["Bcc"] is None
    assert ("\n" + mail.as_string()).count("\nSubject:") == 1


def test_email_thread_header_only_for_a_safe_alert_id():
    """`thread` becomes In-Reply-To only if it looks like an alert id (no header smuggling)."""
    body = alert()
    body["thread"] = "x>\r\nBcc: evil@example.org"
    mail = build_email(Message.single(body, T0), email_settings(), T0)
    assert mail["In-Reply-To"] is None
    body["thread"] = "0123abcd"
    mail = build_email(Message.single(body, T0), email_settings(), T0)
    assert mail["In-Reply-To"] == "<0123abcd@alerts.example.org>"


def test_digest_subject_counts_alerts_and_names_topics():
    message = Message.gathered("desk", [alert(), {**alert(), "id": "a2"}], T0)
    assert render.email_subject(message, "[w]") == "[w] Digest: 2 alerts (Topic)"


def test_digest_id_is_stable_for_the_same_alerts():
    """A retried digest keeps its id; another set of alerts gets another id."""
    assert digest_id("c", ["a", "b"]) == digest_id("c", ["a", "b"])
    assert digest_id("c", ["a", "b"]) != digest_id("c", ["a"])
    assert digest_id("c", ["a"]) != digest_id("d", ["a"])


# --- presets: limits ------------------------------------------------------------------------


def test_slack_digest_stays_within_fifty_blocks():
    """A big digest is cut to Slack's 50 blocks with a "…and N more" note."""
    alerts = [{**alert(f"Story {n}"), "id": f"a{n}"} for n in range(80)]
    body = render.slack_body(Message.gathered("s", alerts, T0))
    assert len(body["blocks"]) <= 50
    assert body["blocks"][-1]["elements"][0]["text"].endswith("more")


def test_discord_digest_stays_within_ten_embeds_and_6000_characters():
    alerts = [{**alert("T" * 300, paragraphs=["p" * 3000]), "id": f"a{n}"} for n in range(15)]
    body = render.discord_body(Message.gathered("d", alerts, T0))
    assert 1 <= len(body["embeds"]) <= 10
    assert sum(render._embed_size(e) for e in body["embeds"]) <= 6000
    assert all(len(e["title"]) <= 256 for e in body["embeds"])
    assert "showing" in body["content"]


def test_ntfy_topic_url_splits_root_and_topic():
    assert render.ntfy_topic_url("https://ntfy.sh/alerts") == ("https://ntfy.sh/", "alerts")
    assert render.ntfy_topic_url("https://h.example/ntfy/news/") == (
        "https://h.example/ntfy/",
        "news",
    )


def test_redact_url_keeps_only_scheme_and_host():
    assert redact_url("https://hooks.slack.com/services/T0/B0/secret") == "https://hooks.slack.com"
    assert redact_url("http://127.0.0.1:8080/x?token=1") == "http://127.0.0.1:8080"


# --- schedule -----------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap():
    """The delay after n failures lies in [c/2, c] with c = min(max_backoff, backoff·2ⁿ⁻¹)."""
    policy = schedule.RetryPolicy(max_attempts=8, backoff=30, max_backoff=3600)
    rng = random.Random(1)
    for failures, ceiling in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        for _ in range(50):
            delay = schedule.backoff_delay(failures, policy, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_retries():
    """Two senders failing at the same moment do not retry at the same moment."""
    policy = schedule.RetryPolicy()
    delays = {schedule.backoff_delay(3, policy, random.Random(seed)) for seed in range(20)}
    assert len(delays) == 20


def test_retry_after_wins_when_longer_and_is_capped_at_a_day():
    policy = schedule.RetryPolicy(backoff=10, max_backoff=60)
    rng = random.Random(0)
    assert schedule.next_attempt(T0, 1, policy, rng, retry_after=900) == T0 + 900
    assert schedule.next_attempt(T0, 1, policy, rng, retry_after=10**9) == T0 + 86400
    assert schedule.next_attempt(T0, 1, policy, rng, retry_after=1) <= T0 + 10


def test_exhausted_after_max_attempts():
    policy = schedule.RetryPolicy(max_attempts=3)
    assert not schedule.exhausted(2, policy) and schedule.exhausted(3, policy)


def test_digest_windows_align_to_the_period():
    """A 30m digest covers [:00, :30) and [:30, :00): an alert waits for its window's end."""
    start = T0 - T0 % 1800
    assert schedule.digest_window_end(start, 1800) == start + 1800
    assert schedule.digest_window_end(start + 1799, 1800) == start + 1800
    assert schedule.next_boundary(start, 1800) == start + 1800


def test_hourly_allowance_counts_the_trailing_hour():
    assert schedule.hourly_allowance([], T0, None).count > 10**6
    assert schedule.hourly_allowance([T0 - 4000, T0 - 10], T0, 2).count == 1
    full = schedule.hourly_allowance([T0 - 3000, T0 - 2000, T0 - 10], T0, 2)
    assert full.count == 0 and full.frees_at == T0 - 2000 + 3600


@pytest.mark.parametrize(
    "header, seconds",
    [("120", 120.0), ("Sun, 15 Jun 2025 15:16:40 GMT", 600.0), ("soon", None), (None, None)],
)
def test_retry_after_parses_seconds_and_http_dates(header, seconds):
    assert parse_retry_after(header, T0) == seconds
