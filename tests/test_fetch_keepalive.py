"""Connection reuse by the fetcher: a poll answered 304 must not cost a new connection.

A small asyncio server on 127.0.0.1 counts the TCP connections it accepts; the fetcher
is the real one, with its real httpx client.
"""

from __future__ import annotations

import asyncio

from watcher.fetch import Fetcher, FetchSettings, Validators

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


class _CountingServer(asyncio.Protocol):
    """Answers 304 to If-None-Match "v1", else 200 with BODY; keeps connections open."""

    connections = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).connections += 1
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            if b'if-none-match: "v1"' in head.lower():
                answer = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n'
            else:
                answer = (
                    b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Type: application/rss+xml\r\n'
                    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
                )
            self.transport.write(answer)  # type: ignore[attr-defined]


def test_polls_answered_304_reuse_one_connection() -> None:
    async def run() -> tuple[list[int], int]:
        _CountingServer.connections = 0
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_CountingServer, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        statuses = []
        try:
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                first = await fetcher.fetch(url)
                statuses.append(first.status)
                for _ in range(5):
                    again = await fetcher.fetch(url, validators=Validators(etag=first.etag))
                    statuses.append(again.status)
        finally:
            server.close()
            await server.wait_closed()
        return statuses, _CountingServer.connections

    statuses, connections = asyncio.run(run())
    assert statuses == [200, 304, 304, 304, 304, 304]
    assert connections == 1
