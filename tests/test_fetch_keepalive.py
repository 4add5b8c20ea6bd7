"""Connections of the fetcher: reused when they can be, closed when they must be, and
HTTPS through the same path.

A small asyncio server on 127.0.0.1 counts the TCP connections it accepts and how many
are still open; the fetcher is the real one, with its real httpx client, pool
(watcher.connpool) and network layer (watcher.netstream).
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import watcher.fetch as fetch_module
from watcher.connpool import pooled_client
from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchSettings, Validators
from watcher.notify.webhook import make_http_client

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


class _Server(asyncio.Protocol):
    """Answers 304 to If-None-Match "v1", else 200 with `body`; keeps connections open.

    `delay` holds each answer back, so fetches overlap; `requests_per_connection` closes
    a connection without answering once it has served that many, as a server does
    whose keep-alive timeout ran out as the next request arrived.
    """

    def __init__(self, owner: _Counts):
        self.owner = owner
        self.buffer = b""
        self.served = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.owner.connections += 1
        self.owner.open += 1
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.open -= 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            limit = self.owner.requests_per_connection
            if limit is not None and self.served >= limit:
                self.transport.close()
                return
            self.served += 1
            self.owner.requests += 1
            if b'if-none-match: "v1"' in head.lower():
                answer = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n'
            else:
                body = self.owner.body
                answer = (
                    b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Type: application/rss+xml\r\n'
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            if self.owner.delay:
                asyncio.get_running_loop().call_later(self.owner.delay, self._send, answer)
            else:
                self._send(answer)

    def _send(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)  # type: ignore[attr-defined]


class _Counts:
    def __init__(self, **options: Any):
        self.connections = 0  # accepted, ever
        self.open = 0  # still open
        self.requests = 0  # answered
        self.body: bytes = options.get("body", BODY)
        self.delay: float = options.get("delay", 0.0)
        self.requests_per_connection: int | None = options.get("requests_per_connection")


def _serve(
    scenario: Callable[[str, _Counts], Awaitable[Any]],
    *,
    tls: ssl.SSLContext | None = None,
    **options: Any,
) -> tuple[Any, _Counts]:
    """Run `scenario(url, counts)` against a fresh server; its result and the counts."""

    async def run() -> Any:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Server(counts), "127.0.0.1", 0, ssl=tls)
        scheme = "https" if tls else "http"
        url = f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        try:
            return await scenario(url, counts)
        finally:
            server.close()
            await server.wait_closed()

    counts = _Counts(**options)
    return asyncio.run(run()), counts


def test_polls_answered_304_reuse_one_connection() -> None:
    async def scenario(url: str, counts: _Counts) -> list[int]:
        statuses = []
        async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
            first = await fetcher.fetch(url)
            statuses.append(first.status)
            for _ in range(5):
                again = await fetcher.fetch(url, validators=Validators(etag=first.etag))
                statuses.append(again.status)
        return statuses

    statuses, counts = _serve(scenario)
    assert statuses == [200, 304, 304, 304, 304, 304]
    assert counts.connections == 1


def test_overlapping_fetches_reuse_their_connections_round_after_round() -> None:
    """16 fetches at once, four times: 16 connections, not one per fetch. (httpcore's own
    pool closed nearly all of them once more than its keep-alive limit were open.)"""

    async def scenario(url: str, counts: _Counts) -> int:
        async with Fetcher(
            FetchSettings(trust_env=False, max_concurrency=16, per_host=16)
        ) as fetcher:
            for _ in range(4):
                results = await asyncio.gather(
                    *(fetcher.fetch(url, validators=Validators(etag='"v1"')) for _ in range(16))
                )
                assert {r.status for r in results} == {304}
            still_open = counts.open
        await asyncio.sleep(0.05)  # the server sees the closes
        return still_open

    open_before_close, counts = _serve(scenario, delay=0.02)
    assert counts.requests == 64
    assert counts.connections == 16
    assert open_before_close == 16
    assert counts.open == 0  # closing the fetcher closed every connection


def test_idle_connections_beyond_the_keep_alive_limit_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With 4 kept at most, 10 fetches at once open 10 connections and leave 4 open."""
    monkeypatch.setattr(fetch_module, "KEEPALIVE_CONNECTIONS", 4)

    async def scenario(url: str, counts: _Counts) -> int:
        async with Fetcher(
            FetchSettings(trust_env=False, max_concurrency=10, per_host=10)
        ) as fetcher:
            await asyncio.gather(*(fetcher.fetch(url) for _ in range(10)))
            await asyncio.sleep(0.05)  # the server sees the closes
            return counts.open

    still_open, counts = _serve(scenario, delay=0.02)
    assert counts.connections == 10
    assert still_open == 4


def test_a_connection_the_server_dropped_is_replaced_without_a_failed_fetch() -> None:
    """The server closes each connection when a second request arrives on it, as one
    whose keep-alive timeout ran out just then: every fetch still succeeds."""

    async def scenario(url: str, counts: _Counts) -> list[int]:
        async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
            return [(await fetcher.fetch(url)).status for _ in range(4)]

    statuses, counts = _serve(scenario, requests_per_connection=1)
    assert statuses == [200, 200, 200, 200]
    assert counts.connections == 4  # one per fetch: each reuse failed and was retried


def test_a_large_body_arrives_whole_through_flow_control() -> None:
    """3 MB, far past what the network layer buffers before it stops reading."""
    body = bytes(range(256)) * (3 * 4096)

    async def scenario(url: str, counts: _Counts) -> bytes:
        settings = FetchSettings(trust_env=False)
        async with Fetcher(settings) as fetcher:
            result = await fetcher.fetch(url)
            assert result.body is not None
            return result.body

    received, _ = _serve(scenario, body=body)
    assert hashlib.sha256(received).digest() == hashlib.sha256(body).digest()


# --- HTTPS ---------------------------------------------------------------------------------


def test_https_feed_is_fetched_over_one_kept_connection(
    ca_file: str,
    tls_server_context: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # read because trust_env is on

    async def scenario(url: str, counts: _Counts) -> list[int]:
        async with Fetcher(FetchSettings(trust_env=True)) as fetcher:
            first = await fetcher.fetch(url)
            assert first.body == BODY
            again = await fetcher.fetch(url, validators=Validators(etag=first.etag))
            return [first.status, again.status]

    statuses, counts = _serve(scenario, tls=tls_server_context)
    assert statuses == [200, 304]
    assert counts.connections == 1


def test_https_with_an_untrusted_certificate_says_so(
    tls_server_context: ssl.SSLContext,
) -> None:
    async def scenario(url: str, counts: _Counts) -> str:
        async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
            with pytest.raises(FetchError) as failure:
                await fetcher.fetch(url)
            return failure.value.reason

    reason, _ = _serve(scenario, tls=tls_server_context)
    assert reason.startswith("TLS certificate of 127.0.0.1 not trusted")


@pytest.mark.parametrize(("keep", "expected_open"), [(None, 6), (2, 2), (0, 0)])
def test_pooled_client_keeps_as_many_idle_connections_as_its_limits_say(
    keep: int | None, expected_open: int
) -> None:
    """httpx's max_keepalive_connections: None keeps them all, 0 none."""

    async def scenario(url: str, counts: _Counts) -> int:
        limits = httpx.Limits(max_keepalive_connections=keep)
        async with pooled_client(limits, trust_env=False) as client:
            answers = await asyncio.gather(*(client.get(url) for _ in range(6)))
            assert [a.status_code for a in answers] == [200] * 6
            await asyncio.sleep(0.05)  # the server sees the closes
            return counts.open

    still_open, counts = _serve(scenario, delay=0.02)
    assert counts.connections == 6
    assert still_open == expected_open


async def _fetch_through(url: str) -> bytes | None:
    async with Fetcher(FetchSettings(trust_env=True)) as fetcher:
        return (await fetcher.fetch(url)).body


async def _post_through(url: str) -> bytes | None:
    async with make_http_client() as client:  # the webhook channels' client
        return (await client.post(url, content=b"{}")).content


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
@pytest.mark.parametrize("request_through", [_fetch_through, _post_through])
def test_a_proxy_from_the_environment_still_carries_the_requests(
    request_through: Callable[[str], Awaitable[bytes | None]],
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool serves what no proxy takes; httpx still reads the proxy variables (it
    would not, were the pool handed to it as the client's transport). The proxy here
    answers itself and records what it was asked; feeds.test is never resolved."""
    asked: list[bytes] = []

    class _Proxy(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if found and len(rest) >= (2 if head.startswith(b"POST") else 0):
                asked.append(head.split(b"\r\n", 1)[0])
                self.transport.write(  # type: ignore[attr-defined]
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
                )
                self.buffer = b""

    async def run() -> bytes | None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Proxy, "127.0.0.1", 0)
        monkeypatch.setenv(variable, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        try:
            return await request_through("http://feeds.test/rss")
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(run()) == BODY
    method = b"GET" if request_through is _fetch_through else b"POST"
    assert asked == [method + b" http://feeds.test/rss HTTP/1.1"]


def test_hosts_in_no_proxy_are_fetched_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard: nothing listens
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    async def scenario(url: str, counts: _Counts) -> int:
        async with Fetcher(FetchSettings(trust_env=True)) as fetcher:
            return (await fetcher.fetch(url)).status

    status, counts = _serve(scenario)
    assert status == 200
    assert counts.requests == 1
