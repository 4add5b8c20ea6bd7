"""The local feed server other tests rely on: it must answer like a real host and never
keep the suite waiting, whatever state its clients leave it in."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.support import FeedServer


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), dict(error.headers)


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def _read_to_eof(client: socket.socket) -> bytes:
    """Everything until the server closes; a socket timeout here means it never did."""
    client.settimeout(2.0)
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


def _open_trickle(server: FeedServer, path: str) -> socket.socket:
    """A client that asks for `path`, reads the status line, and then just sits there."""
    client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert client.recv(12) == b"HTTP/1.1 200"
    return client


def test_stop_returns_promptly_with_a_trickling_connection_open() -> None:
    """stop() raises if a handler thread outlives its timeout, so this pins promptness."""
    server = FeedServer().start()
    server.add("/slow", b"x" * 10_000, trickle=1.0)  # would take almost 3 hours
    client = _open_trickle(server, "/slow")
    try:
        server.stop(timeout=2.0)
        rest = _read_to_eof(client)
    finally:
        client.close()
    assert server.in_flight == 0
    assert b"Content-Length: 10000" in rest and rest.count(b"x") < 10  # cut, not finished


def test_stop_returns_promptly_while_a_delayed_answer_is_pending() -> None:
    server = FeedServer().start()
    server.add("/late", "x", delay=60)
    client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        client.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        _wait_until(lambda: server.in_flight == 1)  # the handler is inside its delay
        server.stop(timeout=2.0)
        assert _read_to_eof(client) == b""  # closed without an answer
    finally:
        client.close()


def test_a_client_hanging_up_mid_trickle_frees_the_handler(feed_server: FeedServer) -> None:
    feed_server.add("/slow", b"x" * 1000, trickle=0.05)
    _open_trickle(feed_server, "/slow").close()
    status, body, _ = _get(feed_server.add("/fast", "ok"))
    assert (status, body) == (200, b"ok")
    _wait_until(lambda: feed_server.in_flight == 0)  # the trickler notices the broken pipe
    assert feed_server.hits("/slow") == 1


def test_if_none_match_takes_precedence_over_if_modified_since(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/rss", "body", etag='"v2"', last_modified="Thu, 01 May 2025 08:30:00 GMT"
    )
    stale_etag = {"If-None-Match": '"v1"', "If-Modified-Since": "Fri, 02 May 2025 00:00:00 GMT"}
    assert _get(url, stale_etag)[0] == 200
    assert _get(url, {"If-None-Match": 'W/"v2"'})[0] == 304
    assert _get(url, {"If-Modified-Since": "Fri, 02 May 2025 00:00:00 GMT"})[0] == 304
    assert _get(url, {"If-Modified-Since": "Wed, 30 Apr 2025 00:00:00 GMT"})[0] == 200


def test_unknown_paths_are_404_and_every_request_is_logged(feed_server: FeedServer) -> None:
    status, _, _ = _get(feed_server.url("/missing?x=1"))
    assert status == 404
    (request,) = feed_server.requests
    assert (request.method, request.path, request.target) == ("GET", "/missing", "/missing?x=1")


def test_gzip_routes_send_compressed_bytes_and_the_encoding(feed_server: FeedServer) -> None:
    url = feed_server.add("/z", "a" * 1000, gzip=True)
    status, body, headers = _get(url)
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert body.startswith(b"\x1f\x8b") and len(body) < 100


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_routes_send_location(feed_server: FeedServer, status: int) -> None:
    feed_server.redirect("/old", to="/new", status=status)
    feed_server.add("/new", "here")
    assert _get(feed_server.url("/old"))[:2] == (200, b"here")
    assert feed_server.hits("/old") == 1
