"""A fast local feed server for the benchmark: thousands of feeds on 127.0.0.1.

    .venv/bin/python bench/feed_server.py --feeds 2000 --items 30 [--latency 0.1]

prints `READY <port>` on stdout once every document is rendered, then serves until
stdin closes (so it never outlives the benchmark that started it) or SIGTERM:

    GET  /feeds/<n>.xml        feed n at its current version; ETag "<n>-<version>",
                               If-None-Match with that ETag -> 304
    POST /hook                 a webhook sink for alerts -> 204
    GET  /_control/bump?fraction=0.1&round=1
                               publish a new version of that share of the feeds (chosen
                               by a seeded draw per round) -> {"changed": [...]}
    GET  /_control/reset       every feed back to version 0
    GET  /_control/latency?seconds=0.1
                               wait this long before answering each feed request
    GET  /_control/stats       requests, 200s, 304s, bytes sent, CPU seconds used

One asyncio protocol, HTTP/1.1 keep-alive, responses prebuilt as bytes: the server must
cost the machine far less than the client it measures (the benchmark prints its CPU).
Not a general HTTP server: enough of the protocol for httpx, nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus

HOST = "127.0.0.1"
MAX_HEAD = 16_384


class FeedStore:
    """Every feed's current version and prebuilt 200 response."""

    def __init__(self, corpus: Corpus):
        self.corpus = corpus
        self.versions = [0] * corpus.feeds
        self.bodies = [b""] * corpus.feeds
        self.original: list[bytes] = []
        self.latency = 0.0
        self.stats = {
            "connections": 0,
            "requests": 0,
            "ok": 0,
            "not_modified": 0,
            "hooks": 0,
            "bytes": 0,
        }

    def render_all(self) -> None:
        self.original = [self._response(n) for n in range(self.corpus.feeds)]
        self.bodies = list(self.original)

    def _etag(self, n: int) -> bytes:
        return b'"%d-%d"' % (n, self.versions[n])

    def _response(self, n: int) -> bytes:
        body = self.corpus.document(n, self.versions[n])
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: %s; charset=utf-8\r\nContent-Length: %d\r\n"
            b"ETag: %s\r\nCache-Control: max-age=60\r\n\r\n"
            % (self.corpus.media_type(n).encode(), len(body), self._etag(n))
        )
        return head + body

    def bump(self, fraction: float, round_: int) -> list[int]:
        count = round(self.corpus.feeds * fraction)
        chosen = sorted(
            random.Random(f"bump-{self.corpus.seed}-{round_}").sample(
                range(self.corpus.feeds), count
            )
        )
        for n in chosen:
            self.versions[n] += 1
            self.bodies[n] = self._response(n)
        return chosen

    def reset(self) -> None:
        self.versions = [0] * self.corpus.feeds
        self.bodies = list(self.original)

    def answer(self, n: int, if_none_match: bytes | None) -> bytes:
        if if_none_match is not None and if_none_match.strip() == self._etag(n):
            self.stats["not_modified"] += 1
            return b"HTTP/1.1 304 Not Modified\r\nETag: %s\r\nContent-Length: 0\r\n\r\n" % (
                self._etag(n)
            )
        self.stats["ok"] += 1
        response = self.bodies[n]
        self.stats["bytes"] += len(response)
        return response


def _simple(status: str, body: bytes = b"", content_type: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status.encode(),
        content_type,
        len(body),
        body,
    )


class FeedProtocol(asyncio.Protocol):
    """One keep-alive connection; requests answered in order."""

    def __init__(self, store: FeedStore):
        self.store = store
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.store.stats["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head = self.buffer[:end].split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            method, target = head[0].split(b" ")[:2]
            self.respond(method, target.decode(), headers)

    def respond(self, method: bytes, target: str, headers: dict[bytes, bytes]) -> None:
        store = self.store
        store.stats["requests"] += 1
        path = urlsplit(target).path
        if path.startswith("/feeds/") and path.endswith(".xml"):
            try:
                n = int(path[7:-4])
                response = store.answer(n, headers.get(b"if-none-match"))
            except (ValueError, IndexError):
                response = _simple("404 Not Found")
            self.send(response, store.latency)
        elif path == "/hook" and method == b"POST":
            store.stats["hooks"] += 1
            self.send(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 0.0)
        elif path.startswith("/_control/"):
            self.send(self.control(path[10:], parse_qs(urlsplit(target).query)), 0.0)
        else:
            self.send(_simple("404 Not Found"), 0.0)

    def control(self, command: str, query: dict[str, list[str]]) -> bytes:
        store = self.store
        if command == "bump":
            changed = store.bump(float(query["fraction"][0]), int(query["round"][0]))
            result: object = {"changed": changed}
        elif command == "reset":
            store.reset()
            result = {"reset": True}
        elif command == "latency":
            store.latency = float(query["seconds"][0])
            result = {"latency": store.latency}
        elif command == "stats":
            result = {**store.stats, "cpu": time.process_time()}
        else:
            return _simple("404 Not Found")
        return _simple("200 OK", json.dumps(result).encode())

    def send(self, response: bytes, delay: float) -> None:
        """Write now, or after `delay` (httpx sends one request at a time per connection,
        so a delayed answer never overtakes another on the same connection)."""
        if delay <= 0:
            if self.transport is not None:
                self.transport.write(response)
            return
        asyncio.get_running_loop().call_later(delay, self._write_later, response)

    def _write_later(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)


async def serve(args: argparse.Namespace) -> None:
    corpus = Corpus(args.feeds, args.items, seed=args.seed, anchor=args.anchor)
    store = FeedStore(corpus)
    store.latency = args.latency
    store.render_all()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FeedProtocol(store), HOST, args.port, backlog=1024, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # stdin closing means the benchmark is gone, however it ended
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(1) or stop.set())
    print(f"READY {port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a benchmark corpus on 127.0.0.1.")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--anchor",
        type=float,
        default=1.75e9,
        help="unix time the corpus is dated up to (default: mid-2025)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
