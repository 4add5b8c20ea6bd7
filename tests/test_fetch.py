"""The fetch stage: conditional GET, redirects, status handling, limits, concurrency.

Most tests talk to the real local feed server (tests/support/feed_server.py); the pure
ones hand make_client an httpx.MockTransport on a made-up host that is never resolved.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.support import FeedServer, unused_port
from watcher import __version__
from watcher.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from watcher.fetch import (
    Fetcher,
    FetchLimits,
    FetchResult,
    FetchSettings,
    Validators,
    backoff_delay,
    make_client,
    parse_content_type,
    parse_max_age,
    parse_retry_after,
)

SETTINGS = FetchSettings(trust_env=False)  # never route 127.0.0.1 through an env proxy
NOW = datetime(2025, 5, 16, 12, 0, 0, tzinfo=UTC)
MOCK_URL = "http://feeds.test/rss"
RSS = "<rss version='2.0'><channel><title>t</title></channel></rss>"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def fetch(url: str, *, settings: FetchSettings = SETTINGS, **kwargs: object) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def mock_fetch(
    handler: Handler,
    url: str = MOCK_URL,
    *,
    settings: FetchSettings = SETTINGS,
    **kwargs: object,
) -> FetchResult:
    async def go() -> FetchResult:
        transport = httpx.MockTransport(handler)
        async with Fetcher(settings, transport=transport, clock=lambda: NOW) as fetcher:
            return await fetcher.fetch(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def raw(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    """A response whose body reaches the client as raw bytes, still encoded.

    (`httpx.Response(content=...)` would be read and decoded by httpx on construction.)
    """
    wire = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.Response(status, headers=wire, stream=httpx.ByteStream(body))


def gathered(urls: list[str], settings: FetchSettings) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    return asyncio.run(go())


# --- conditional GET ----------------------------------------------------------------------


def test_etag_revalidation_sends_if_none_match_and_gets_304_without_body(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/rss", RSS, etag='"v1"')
    first = fetch(url)
    assert (first.status, first.body, first.etag) == (200, RSS.encode(), '"v1"')

    second = fetch(url, validators=first.validators)

    assert second.status == 304 and second.not_modified
    assert second.body is None and second.body_hash is None
    assert second.etag == '"v1"'
    assert feed_server.requests_for("/rss")[-1].headers["if-none-match"] == '"v1"'


def test_last_modified_revalidation_sends_if_modified_since_and_gets_304(
    feed_server: FeedServer,
) -> None:
    stamp = datetime(2025, 5, 1, 8, 30, tzinfo=UTC)
    url = feed_server.add("/rss", RSS, last_modified=stamp)
    first = fetch(url)
    assert first.last_modified == "Thu, 01 May 2025 08:30:00 GMT"
    assert first.etag is None

    second = fetch(url, validators=Validators(last_modified=first.last_modified))

    assert second.status == 304 and second.body is None
    assert second.last_modified == first.last_modified
    sent = feed_server.requests_for("/rss")[-1].headers
    assert sent["if-modified-since"] == "Thu, 01 May 2025 08:30:00 GMT"
    assert "if-none-match" not in sent


def test_first_fetch_sends_no_conditional_headers(feed_server: FeedServer) -> None:
    fetch(feed_server.add("/rss", RSS, etag='"v1"'))
    sent = feed_server.requests_for("/rss")[0].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_a_republished_feed_returns_the_new_body_hash_and_validators(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/rss", "old", etag='"v1"')
    first = fetch(url)
    feed_server.update("/rss", body="new item", etag='"v2"')

    second = fetch(url, validators=first.validators)

    assert second.status == 200 and second.body == b"new item"
    assert second.etag == '"v2"'
    assert second.body_hash == hashlib.sha256(b"new item").hexdigest() != first.body_hash


def test_304_carries_stored_validators_forward_unless_the_server_sends_new_ones() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(304, headers={"ETag": '"v9"'} if "x" in request.url.path else {})

    kept = mock_fetch(handler, validators=Validators('"v1"', "Thu, 01 May 2025 08:30:00 GMT"))
    assert (kept.etag, kept.last_modified) == ('"v1"', "Thu, 01 May 2025 08:30:00 GMT")
    renewed = mock_fetch(handler, "http://feeds.test/x", validators=Validators('"v1"'))
    assert renewed.etag == '"v9"'


def test_a_200_without_validators_drops_the_stored_ones() -> None:
    result = mock_fetch(lambda r: httpx.Response(200, content=b"x"), validators=Validators('"a"'))
    assert (result.etag, result.last_modified) == (None, None)


def test_body_hash_is_sha256_of_the_decompressed_body(feed_server: FeedServer) -> None:
    result = fetch(feed_server.add("/rss", RSS * 50, gzip=True))

    assert feed_server.requests_for("/rss")[0].headers["accept-encoding"] == "gzip, deflate"
    assert result.body == (RSS * 50).encode()
    assert result.body_hash == hashlib.sha256((RSS * 50).encode()).hexdigest()


# --- redirects ----------------------------------------------------------------------------


def test_chain_of_301s_reports_the_final_url_as_permanent_redirect(
    feed_server: FeedServer,
) -> None:
    final = feed_server.add("/new", RSS)
    feed_server.redirect("/old", to=feed_server.url("/mid"), status=301)
    feed_server.redirect("/mid", to="/new", status=301)

    result = fetch(feed_server.url("/old"))

    assert result.status == 200 and result.body == RSS.encode()
    assert result.final_url == final
    assert result.permanent_redirect == final
    assert result.redirects == (feed_server.url("/mid"), final)
    assert [feed_server.hits(p) for p in ("/old", "/mid", "/new")] == [1, 1, 1]


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_statuses_ask_the_caller_to_move_the_feed(
    feed_server: FeedServer, status: int
) -> None:
    final = feed_server.add("/new", RSS)
    feed_server.redirect("/old", to="/new", status=status)
    assert fetch(feed_server.url("/old")).permanent_redirect == final


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirects_are_followed_but_not_permanent(
    feed_server: FeedServer, status: int
) -> None:
    final = feed_server.add("/new", RSS)
    feed_server.redirect("/old", to="/new", status=status)
    result = fetch(feed_server.url("/old"))
    assert (result.final_url, result.body, result.permanent_redirect) == (
        final,
        RSS.encode(),
        None,
    )


def test_one_temporary_hop_in_a_chain_of_301s_cancels_permanent_redirect(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/c", RSS)
    feed_server.redirect("/a", to="/b", status=301)
    feed_server.redirect("/b", to="/c", status=302)
    result = fetch(feed_server.url("/a"))
    assert result.final_url == feed_server.url("/c") and result.permanent_redirect is None


def test_relative_location_is_resolved_against_the_current_url(feed_server: FeedServer) -> None:
    feed_server.add("/feeds/world.xml", RSS)
    feed_server.redirect("/feeds/old.xml", to="world.xml#top", status=301)
    result = fetch(feed_server.url("/feeds/old.xml"))
    assert result.final_url == feed_server.url("/feeds/world.xml")


def test_redirect_loop_is_reported_with_the_cycle(feed_server: FeedServer) -> None:
    a, b = feed_server.url("/a"), feed_server.url("/b")
    feed_server.redirect("/a", to=b, status=302)
    feed_server.redirect("/b", to=a, status=302)

    with pytest.raises(TooManyRedirects) as info:
        fetch(a)

    assert info.value.url == a
    assert info.value.reason == f"redirect loop: {a} -> {b} -> {a}"
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


def test_more_redirects_than_max_redirects_fails(feed_server: FeedServer) -> None:
    for i in range(4):
        feed_server.redirect(f"/r{i}", to=f"/r{i + 1}", status=302)
    feed_server.add("/r4", RSS)

    assert fetch(feed_server.url("/r0"), limits=FetchLimits(max_redirects=4)).status == 200
    with pytest.raises(TooManyRedirects) as info:
        fetch(feed_server.url("/r0"), limits=FetchLimits(max_redirects=3))
    assert info.value.reason.startswith("more than 3 redirects: ")
    assert feed_server.hits("/r4") == 1  # only the first (allowed) fetch got there


def test_redirect_without_location_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: httpx.Response(301))
    assert info.value.reason == "HTTP 301 redirect without a Location header"


def test_redirect_to_a_non_http_scheme_is_refused() -> None:
    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: httpx.Response(302, headers={"Location": "file:///etc/passwd"}))
    assert "not an http(s) URL" in info.value.reason


def test_stored_validators_are_sent_on_every_hop(feed_server: FeedServer) -> None:
    feed_server.add("/new", RSS, etag='"v1"')
    feed_server.redirect("/old", to="/new", status=302)
    result = fetch(feed_server.url("/old"), validators=Validators(etag='"v1"'))
    assert result.status == 304
    assert feed_server.requests_for("/new")[0].headers["if-none-match"] == '"v1"'


# --- status handling ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500, 403])
def test_error_statuses_raise_http_status_error_with_the_status(
    feed_server: FeedServer, status: int
) -> None:
    url = feed_server.add("/feed", "nope", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetch(url)
    assert (info.value.url, info.value.status, info.value.retry_after) == (url, status, None)
    assert info.value.reason == f"HTTP {status}"


def test_410_after_a_redirect_names_the_url_that_is_gone(feed_server: FeedServer) -> None:
    gone = feed_server.add("/gone", status=410)
    feed_server.redirect("/feed", to="/gone", status=301)
    with pytest.raises(HTTPStatusError) as info:
        fetch(feed_server.url("/feed"))
    assert (info.value.status, info.value.url) == (410, gone)


def test_429_carries_retry_after_in_seconds(feed_server: FeedServer) -> None:
    url = feed_server.add("/busy", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetch(url)
    assert (info.value.status, info.value.retry_after) == (429, 120.0)
    assert info.value.reason == "HTTP 429 (Retry-After 120s)"


def test_503_retry_after_http_date_is_relative_to_the_server_date(
    feed_server: FeedServer,
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    url = feed_server.add("/down", status=503, headers={"Retry-After": when})
    with pytest.raises(HTTPStatusError) as info:
        fetch(url)
    assert info.value.status == 503
    assert info.value.retry_after is not None
    assert 290 <= info.value.retry_after <= 301  # HTTP-dates have one-second resolution


def test_retry_after_http_date_without_date_header_uses_the_clock() -> None:
    later = format_datetime(NOW + timedelta(minutes=2), usegmt=True)

    with pytest.raises(HTTPStatusError) as info:
        mock_fetch(lambda r: httpx.Response(429, headers={"Retry-After": later}))

    assert info.value.retry_after == 120.0


def test_retry_after_is_ignored_on_statuses_that_do_not_define_it() -> None:
    with pytest.raises(HTTPStatusError) as info:
        mock_fetch(lambda r: httpx.Response(500, headers={"Retry-After": "60"}))
    assert (info.value.status, info.value.retry_after) == (500, None)


# --- limits -------------------------------------------------------------------------------


def test_trickling_server_is_cut_at_the_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow", b"x" * 200, trickle=0.1)  # would take 20 s
    with pytest.raises(FetchTimeout) as info:
        fetch(url, limits=FetchLimits(deadline=1.0, read_timeout=5.0))
    assert info.value.url == url
    assert info.value.reason.startswith("no complete response within the 1s deadline")
    assert isinstance(info.value, TimeoutError)


def test_silent_server_trips_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.add("/silent", RSS, delay=10)
    with pytest.raises(FetchTimeout) as info:
        fetch(url, limits=FetchLimits(read_timeout=0.3))
    assert info.value.reason == "server sent nothing for 0.3s (read timeout)"


def test_time_queued_behind_the_same_host_does_not_count_against_the_deadline(
    feed_server: FeedServer,
) -> None:
    """Three 0.4 s answers one at a time take 1.2 s; each still fits a 0.7 s deadline."""
    url = feed_server.add("/feed", RSS, delay=0.4)
    settings = FetchSettings(per_host=1, trust_env=False, limits=FetchLimits(deadline=0.7))
    results = gathered([url] * 3, settings)
    assert [r.status for r in results] == [200, 200, 200]
    assert feed_server.max_in_flight == 1


def test_body_over_max_bytes_by_content_length_is_refused_before_reading(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/big", b"x" * 2_000_000)
    with pytest.raises(ResponseTooLarge) as info:
        fetch(url, limits=FetchLimits(max_bytes=1_000_000))
    assert info.value.reason == "Content-Length 2MB is over the 1MB limit"


def test_body_size_is_counted_after_decompression(feed_server: FeedServer) -> None:
    body = RSS.encode() * 40_000  # 2.4 MB, compresses to a few kB
    url = feed_server.add("/big", body, gzip=True)
    assert fetch(url).body == body  # within the default 10 MB
    with pytest.raises(ResponseTooLarge) as info:
        fetch(url, limits=FetchLimits(max_bytes=1_000_000))
    assert info.value.reason == "body is over the 1MB limit (after decompression)"


def test_gzip_bomb_stops_early_without_inflating_it_in_memory(
    feed_server: FeedServer, gzip_bomb: bytes
) -> None:
    """100 MiB of zeros in ~100 kB: with a 1 MB limit, peak memory stays far below it."""
    url = feed_server.add("/bomb", gzip_bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            fetch(url, limits=FetchLimits(max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "after decompression" in info.value.reason
    assert peak < 20_000_000, f"peak traced memory {peak} bytes"  # naive: >60 MB


def test_gzip_bomb_arriving_in_one_chunk_is_still_inflated_in_bounded_steps(
    gzip_bomb: bytes,
) -> None:
    """MockTransport hands the whole bomb over as a single raw chunk."""

    def handler(request: httpx.Request) -> httpx.Response:
        return raw(200, gzip_bomb, Content_Encoding="gzip")

    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            mock_fetch(handler, limits=FetchLimits(max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"peak traced memory {peak} bytes"  # naive: >60 MB


def test_broken_gzip_stream_is_a_fetch_error() -> None:
    broken = gzip.compress(RSS.encode() * 100)[:40] + b"\x00garbage" * 20

    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: raw(200, broken, Content_Encoding="gzip"))

    assert type(info.value) is FetchError
    assert info.value.reason.startswith("body is not valid gzip/deflate data")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", lambda b: gzip.compress(b)),
        ("x-gzip", lambda b: gzip.compress(b)),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b, wbits=-15)),  # raw, as some servers send
        ("gzip", lambda b: gzip.compress(b[:10]) + gzip.compress(b[10:])),  # two members
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("gzip", lambda b: gzip.compress(b) + b"<!-- junk after the stream -->"),
        ("identity", lambda b: b),
    ],
)
def test_supported_content_encodings_are_decoded(
    encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = RSS.encode() * 10
    wire = encode(body)
    result = mock_fetch(lambda r: raw(200, wire, Content_Encoding=encoding))
    assert result.body == body


def test_unrequested_content_encoding_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: raw(200, b"xx", Content_Encoding="br"))
    assert info.value.reason == "unsupported Content-Encoding 'br' (we asked for gzip)"


# --- charsets -----------------------------------------------------------------------------


def test_declared_charset_is_reported_and_the_bytes_passed_through(
    feed_server: FeedServer,
) -> None:
    body = "<rss><channel><title>Новости</title></channel></rss>".encode("windows-1251")
    url = feed_server.add("/ru", body, content_type="application/rss+xml; charset=windows-1251")
    result = fetch(url)
    assert result.body == body
    assert result.charset == "windows-1251"
    assert result.content_type == "application/rss+xml; charset=windows-1251"
    assert result.media_type == "application/rss+xml"


def test_a_body_lying_about_its_charset_is_passed_through_as_declared(
    feed_server: FeedServer,
) -> None:
    body = "Переговоры в Стамбуле".encode("windows-1251")  # not valid UTF-8
    url = feed_server.add("/liar", body, content_type='text/xml; charset="UTF-8"')
    result = fetch(url)
    assert (result.body, result.charset) == (body, "UTF-8")


# --- transport errors ---------------------------------------------------------------------


def test_connection_refused_is_a_fetch_error_with_a_plain_reason() -> None:
    port = unused_port()
    url = f"http://127.0.0.1:{port}/rss"
    with pytest.raises(FetchError) as info:
        fetch(url, limits=FetchLimits(connect_timeout=2))
    assert type(info.value) is FetchError
    assert info.value.url == url
    assert info.value.reason == f"connection refused by 127.0.0.1:{port} (is the server down?)"


@pytest.mark.parametrize(
    ("raised", "expected_type", "reason"),
    [
        (httpx.ConnectTimeout("t"), FetchTimeout, "could not connect within 10s"),
        (httpx.ReadTimeout("t"), FetchTimeout, "server sent nothing for 30s (read timeout)"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            FetchError,
            "server broke the HTTP protocol: Server disconnected without sending a response.",
        ),
        (httpx.ConnectError("boom"), FetchError, "cannot connect to feeds.test:80: boom"),
    ],
)
def test_transport_exceptions_never_escape_raw(
    raised: Exception, expected_type: type[FetchError], reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(FetchError) as info:
        mock_fetch(handler)
    assert type(info.value) is expected_type
    assert (info.value.url, info.value.reason) == (MOCK_URL, reason)


def test_a_connection_dropped_mid_body_is_a_fetch_error() -> None:
    async def dropping() -> object:
        yield b"<rss>"
        raise httpx.ReadError("connection reset")

    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: httpx.Response(200, content=dropping()))  # type: ignore[arg-type]
    assert "broke mid-transfer" in info.value.reason


@pytest.mark.parametrize("url", ["ftp://feeds.test/rss", "not a url", "http://"])
def test_urls_that_cannot_be_fetched_are_fetch_errors(url: str) -> None:
    with pytest.raises(FetchError) as info:
        mock_fetch(lambda r: httpx.Response(200), url)
    assert info.value.url == url


# --- concurrency --------------------------------------------------------------------------


def test_per_host_limit_caps_requests_in_flight_to_one_host(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", RSS, delay=0.2)
    settings = FetchSettings(per_host=2, max_concurrency=20, trust_env=False)
    results = gathered([url] * 8, settings)
    assert [r.status for r in results] == [200] * 8
    assert feed_server.max_in_flight == 2


def test_global_limit_caps_requests_in_flight(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", RSS, delay=0.2)
    settings = FetchSettings(per_host=10, max_concurrency=3, trust_env=False)
    results = gathered([url] * 9, settings)
    assert [r.status for r in results] == [200] * 9
    assert feed_server.max_in_flight == 3


# --- headers ------------------------------------------------------------------------------


def test_user_agent_names_the_project_and_its_version(feed_server: FeedServer) -> None:
    fetch(feed_server.add("/rss", RSS))
    agent = feed_server.requests_for("/rss")[0].headers["user-agent"]
    assert agent.startswith(f"watcher/{__version__} (")
    assert "news alert daemon" in agent


def test_user_agent_can_be_overridden() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, content=b"")

    mock_fetch(handler, settings=FetchSettings(user_agent="newsroom-bot/2"))
    assert seen == ["newsroom-bot/2"]


def test_make_client_does_not_follow_redirects_itself() -> None:
    async def go() -> int:
        transport = httpx.MockTransport(lambda r: httpx.Response(301, headers={"Location": "/"}))
        async with make_client(SETTINGS, transport=transport) as client:
            return (await client.get(MOCK_URL)).status_code

    assert asyncio.run(go()) == 301


def test_cache_headers_are_exposed_for_the_scheduler() -> None:
    headers = {
        "Cache-Control": "public, max-age=600",
        "Date": "Fri, 16 May 2025 12:00:00 GMT",
        "Expires": "Fri, 16 May 2025 12:15:00 GMT",
    }
    result = mock_fetch(lambda r: httpx.Response(200, content=b"x", headers=headers))
    assert result.max_age == 600
    assert result.expires == datetime(2025, 5, 16, 12, 15, tzinfo=UTC)
    assert result.expires_in == 900


def test_invalid_expires_means_already_expired() -> None:
    result = mock_fetch(lambda r: httpx.Response(200, content=b"x", headers={"Expires": "0"}))
    assert (result.expires, result.expires_in, result.max_age) == (None, 0.0, None)


# --- pure helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Fri, 16 May 2025 12:05:00 GMT", 300.0),
        ("Fri, 16 May 2025 11:00:00 GMT", 0.0),  # in the past: retry now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=300", 300),
        ('public, max-age="60", must-revalidate', 60),
        ("no-cache", 0),
        ("private", None),
        ("max-age=soon", None),
        (None, None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


def test_parse_content_type_keeps_the_declared_charset() -> None:
    assert parse_content_type("Text/XML; Charset='KOI8-R'") == ("text/xml", "KOI8-R")
    assert parse_content_type("application/atom+xml") == ("application/atom+xml", None)
    assert parse_content_type(None) == (None, None)


def test_from_config_maps_timeout_to_the_deadline_and_caps_connect() -> None:
    limits = FetchLimits.from_config(30.0, 5_000_000)
    assert (limits.connect_timeout, limits.read_timeout, limits.deadline) == (10.0, 30.0, 30.0)
    assert limits.max_bytes == 5_000_000
    assert FetchLimits.from_config(3.0, 1).connect_timeout == 3.0
    with pytest.raises(ValueError, match="deadline"):
        FetchLimits(deadline=0)


# --- backoff ------------------------------------------------------------------------------


def test_backoff_is_zero_without_failures() -> None:
    assert backoff_delay(0, base=60, cap=3600, rng=random.Random(1)) == 0.0


def test_backoff_full_jitter_stays_under_the_exponential_ceiling() -> None:
    rng = random.Random(42)
    for failures, ceiling in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (50, 3600)]:
        samples = [backoff_delay(failures, base=60, cap=3600, rng=rng) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > 0.9 * ceiling  # the range is really used, up to the ceiling


def test_backoff_equal_jitter_never_retries_at_once() -> None:
    rng = random.Random(7)
    samples = [backoff_delay(3, base=10, cap=3600, rng=rng, jitter="equal") for _ in range(200)]
    assert all(20 <= s <= 40 for s in samples)


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    def run() -> list[float]:
        rng = random.Random(2025)
        return [backoff_delay(n, base=1, cap=100, rng=rng) for n in range(1, 10)]

    assert run() == run()


def test_backoff_survives_huge_failure_counts() -> None:
    assert backoff_delay(10**6, base=1, cap=300, rng=random.Random(0)) <= 300


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        backoff_delay(-1, base=1, cap=10, rng=random.Random(0))
    with pytest.raises(ValueError):
        backoff_delay(1, base=0, cap=10, rng=random.Random(0))
