"""What the fetcher's HTTP/1.1 connection (watcher.http11) makes of real bytes on the
wire: informational answers, the ways a body can end, and servers breaking the protocol.

The server is a script: each request, on whatever connection it arrives, gets the next
scripted answer verbatim, and the connection is closed after it when the script says
so (or instead of it, for None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchSettings

RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"


def ok(body: bytes = RSS, *extra: bytes) -> bytes:
    return OK_HEAD + b"".join(extra) + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class _Script:
    def __init__(self, answers: list[tuple[bytes | None, bool]]):
        self.answers = list(answers)
        self.connections = 0


class _ScriptedServer(asyncio.Protocol):
    def __init__(self, script: _Script):
        self.script = script
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.script.connections += 1
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer and not self.transport.is_closing():
            _, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            answer, close = self.script.answers.pop(0)
            if answer is not None:
                self.transport.write(answer)  # type: ignore[attr-defined]
            if close or answer is None:
                self.transport.close()


def _run(
    answers: list[tuple[bytes | None, bool]],
    client: Callable[[Fetcher, str], Awaitable[Any]],
) -> tuple[Any, _Script]:
    script = _Script(answers)

    async def run() -> Any:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _ScriptedServer(script), "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        try:
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                return await client(fetcher, url)
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(run()), script


async def _bodies(fetcher: Fetcher, url: str, times: int = 2) -> list[bytes | None]:
    return [(await fetcher.fetch(url)).body for _ in range(times)]


def test_informational_answers_before_the_real_one_are_skipped() -> None:
    early_hints = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    bodies, script = _run([(early_hints + ok(), False), (ok(), False)], _bodies)
    assert bodies == [RSS, RSS]
    assert script.connections == 1


def test_connection_close_from_the_server_means_a_new_connection_next_time() -> None:
    bodies, script = _run([(ok(RSS, b"Connection: close\r\n"), True), (ok(), False)], _bodies)
    assert bodies == [RSS, RSS]
    assert script.connections == 2


def test_a_body_ended_by_closing_the_connection_is_whole() -> None:
    no_length = OK_HEAD + b"Connection: close\r\n\r\n" + RSS
    bodies, script = _run([(no_length, True), (ok(), False)], _bodies)
    assert bodies == [RSS, RSS]
    assert script.connections == 2


def test_a_chunked_body_is_joined_and_the_connection_kept() -> None:
    chunked = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
    chunked += b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (RSS[:10], RSS[10:]))
    chunked += b"0\r\n\r\n"
    bodies, script = _run([(chunked, False), (chunked, False)], _bodies)
    assert bodies == [RSS, RSS]
    assert script.connections == 1


def _failure(answers: list[tuple[bytes | None, bool]]) -> str:
    async def client(fetcher: Fetcher, url: str) -> str:
        with pytest.raises(FetchError) as failure:
            await fetcher.fetch(url)
        return failure.value.reason

    reason, _ = _run(answers, client)
    return reason


def test_a_server_closing_a_new_connection_without_answering_is_a_protocol_error() -> None:
    assert _failure([(None, True)]) == (
        "server broke the HTTP protocol: Server disconnected without sending a response."
    )


def test_a_status_line_that_is_not_http_is_a_protocol_error() -> None:
    assert _failure([(b"HELLO THERE\r\n\r\n", True)]).startswith("server broke the HTTP protocol: ")


def test_a_body_cut_short_of_its_content_length_is_a_protocol_error() -> None:
    truncated = OK_HEAD + b"Content-Length: 1000\r\n\r\n" + RSS
    reason = _failure([(truncated, True)])
    assert reason.startswith("server broke the HTTP protocol: ")
    assert "complete message body" in reason


def test_a_response_head_of_300_kb_is_refused() -> None:
    huge = OK_HEAD + b"X-Padding: " + b"x" * 300_000 + b"\r\nContent-Length: 0\r\n\r\n"
    assert _failure([(huge, True)]).startswith("server broke the HTTP protocol: ")
