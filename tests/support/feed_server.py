"""A real HTTP server on 127.0.0.1, programmable per path, for tests that need a socket.

Started and stopped by the `feed_server` fixture (tests/conftest.py); usable directly as
a context manager by benchmarks. Everything a misbehaving feed host does is one call:

    feed_server.add("/rss", body=RSS, etag='"v1"', last_modified=some_datetime)
    feed_server.add("/rss", body=NEWER, etag='"v2"')       # the feed published an item
    feed_server.redirect("/old", to="/rss", status=301)    # `to` may be relative
    feed_server.add("/slow", body=b"x" * 100, trickle=0.2) # one byte every 0.2 s
    feed_server.add("/gone", status=410)
    feed_server.add("/busy", status=429, headers={"Retry-After": "120"})
    feed_server.add("/zipped", body=RSS, gzip=True)        # Content-Encoding: gzip
    url = feed_server.url("/rss")

and what the client did is recorded:

    feed_server.hits("/rss"); feed_server.requests_for("/rss")[-1].headers["if-none-match"]
    feed_server.max_in_flight   # most requests being answered at the same moment

Conditional requests are answered like a real server: If-None-Match against `etag`
(taking precedence), else If-Modified-Since against `last_modified` -> 304. Waits
(`delay`, `trickle`) end as soon as the client goes away or the server stops, and stop()
closes open connections, so a test can never hang on this server.
"""

from __future__ import annotations

import dataclasses
import gzip as gzip_module
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

DEFAULT_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Route:
    """How the server answers one path."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = DEFAULT_CONTENT_TYPE
    delay: float = 0.0  # seconds before the status line
    trickle: float | None = None  # seconds between body chunks
    trickle_chunk: int = 1  # bytes per trickled chunk
    gzip: bool = False  # compress `body` and send Content-Encoding: gzip
    wire_body: bytes = b""  # what goes on the wire (body, compressed if gzip)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    target: str  # path with query string
    headers: dict[str, str]
    body: bytes
    time: float  # time.monotonic() when the request line had been read


def _http_date(value: str | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return format_datetime(value, usegmt=True)
    return value


def make_gzip_bomb(size: int, chunk: int = 1 << 20) -> bytes:
    """gzip of `size` zero bytes (100 MB -> ~100 kB), built without holding `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(chunk)
    parts = []
    for start in range(0, size, chunk):
        parts.append(compressor.compress(zeros[: min(chunk, size - start)]))
    parts.append(compressor.flush())
    return b"".join(parts)


def unused_port() -> int:
    """A 127.0.0.1 port nothing listens on (it was free a moment ago): connection refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FeedServer:
    """Threaded HTTP/1.1 server with per-path routes, a request log and in-flight counts."""

    def __init__(self, host: str = "127.0.0.1"):
        self._host = host
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        self._httpd = _Server((self._host, 0), _Handler, owner=self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="feed-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop at once: wake every waiting handler, close connections, join threads."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        end = time.monotonic() + timeout
        for thread in [self._thread, *threads]:
            if thread is not None:
                thread.join(max(0.0, end - time.monotonic()))
        stuck = [t.name for t in threads if t.is_alive()]
        self._httpd = None
        if stuck:
            raise RuntimeError(f"feed server handlers still running after stop: {stuck}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("feed server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- programming ------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | datetime | None = None,
        content_type: str | None = DEFAULT_CONTENT_TYPE,
        delay: float = 0.0,
        trickle: float | None = None,
        trickle_chunk: int = 1,
        gzip: bool = False,
    ) -> str:
        """Serve `path` (replacing whatever it served before); returns its URL.

        A str body is encoded as UTF-8; to serve another charset pass bytes and say so
        in `content_type`. `headers` are sent as given (they may contradict the body).
        """
        route = Route(
            body=body.encode() if isinstance(body, str) else bytes(body),
            status=status,
            headers=tuple((headers or {}).items()),
            etag=etag,
            last_modified=_http_date(last_modified),
            content_type=content_type,
            delay=delay,
            trickle=trickle,
            trickle_chunk=trickle_chunk,
            gzip=gzip,
        )
        with self._lock:
            self._routes[path] = _prepared(route)
        return self.url(path)

    def update(self, path: str, **changes: Any) -> str:
        """Change some fields of an existing route, e.g. a new body and etag."""
        if "body" in changes and isinstance(changes["body"], str):
            changes["body"] = changes["body"].encode()
        if "headers" in changes:
            changes["headers"] = tuple((changes["headers"] or {}).items())
        if "last_modified" in changes:
            changes["last_modified"] = _http_date(changes["last_modified"])
        with self._lock:
            self._routes[path] = _prepared(dataclasses.replace(self._routes[path], **changes))
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Answer `path` with a redirect to `to` (absolute URL, or relative as given)."""
        return self.add(path, status=status, headers={"Location": to}, content_type=None)

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    # -- what happened ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def hits(self, path: str) -> int:
        return len(self.requests_for(path))

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = self.in_flight

    # -- used by the handler ----------------------------------------------------------

    def _route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @contextmanager
    def _answering(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
                self._handler_threads.add(threading.current_thread())
            else:
                self._connections.discard(conn)
                self._handler_threads.discard(threading.current_thread())


def _prepared(route: Route) -> Route:
    wire = gzip_module.compress(route.body, mtime=0) if route.gzip else route.body
    return dataclasses.replace(route, wire_body=wire)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    def strip(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    candidates = [strip(t) for t in if_none_match.split(",")]
    return "*" in candidates or strip(etag) in candidates


def _not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, owner: FeedServer):
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is routine here, not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection ends by itself; stop() ends it sooner
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, fmt: str, *args: Any) -> None:
        """Silence the per-request stderr line; tests read `requests` instead."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_POST(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        request_body = self.rfile.read(length) if length else b""
        owner._record(
            RecordedRequest(
                method=self.command,
                path=urlsplit(self.path).path,
                target=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=request_body,
                time=time.monotonic(),
            )
        )
        try:
            with owner._answering():
                self._respond(owner, owner._route(urlsplit(self.path).path), send_body)
        except OSError:  # the client went away (BrokenPipe, reset) or stop() closed us
            self.close_connection = True

    def _respond(self, owner: FeedServer, route: Route | None, send_body: bool) -> None:
        if route is None:
            route = Route(body=b"not found\n", status=404, content_type="text/plain")
        if route.delay and owner._stopping.wait(route.delay):
            self.close_connection = True
            return
        if self._is_not_modified(route):
            self.send_response(304)
            self._validator_headers(route)
            self.end_headers()
            return
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        if route.gzip:
            self.send_header("Content-Encoding", "gzip")
        self._validator_headers(route)
        for name, value in route.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.wire_body)))
        self.end_headers()
        if not send_body:
            return
        if route.trickle is None:
            self.wfile.write(route.wire_body)
            return
        step = max(1, route.trickle_chunk)
        for start in range(0, len(route.wire_body), step):
            if owner._stopping.wait(route.trickle):
                self.close_connection = True
                return
            self.wfile.write(route.wire_body[start : start + step])
            self.wfile.flush()

    def _validator_headers(self, route: Route) -> None:
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)

    def _is_not_modified(self, route: Route) -> bool:
        if route.status != 200:
            return False
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return route.etag is not None and _etag_matches(if_none_match, route.etag)
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since and route.last_modified:
            return _not_modified_since(if_modified_since, route.last_modified)
        return False


__all__ = ["FeedServer", "RecordedRequest", "Route", "make_gzip_bomb", "unused_port"]
