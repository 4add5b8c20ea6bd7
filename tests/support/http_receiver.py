"""A real HTTP server on 127.0.0.1 that receives webhooks, with programmable answers.

    with HttpReceiver() as hook:
        hook.respond(500, times=2)                      # the next two POSTs get 500
        hook.respond(429, headers={"Retry-After": "120"})
        ... deliver to hook.url("/hook") ...
        hook.requests[-1].json(); hook.delivery_ids()   # what arrived, how often per id

Queued answers are used in order; after them every request gets 200. `HttpReceiver(port=p)`
listens on a chosen port, so a test can leave it down (connection refused) and start it
later on the same address; `delay` slows every answer (to kill a sender mid-way).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tests.support.feed_server import unused_port


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a killed daemon) is expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HttpReceiver:
    def __init__(self, port: int | None = None, delay: float = 0.0):
        self.port = port or unused_port()
        self.delay = delay  # seconds before each answer, once the request is recorded
        self._lock = threading.Lock()
        self._answers: deque[Answer] = deque()
        self.requests: list[ReceivedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self._answers.extend([Answer(status, body, headers or {})] * times)

    def delivery_ids(self, accepted_only: bool = True) -> Counter[str]:
        """How many times each X-Watcher-Delivery id arrived (and was answered 2xx)."""
        with self._lock:
            return Counter(
                r.headers.get("x-watcher-delivery", "")
                for r in self.requests
                if not accepted_only or 200 <= r.status < 300
            )

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._answers.popleft() if self._answers else Answer()

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._next_answer()
                receiver._record(
                    ReceivedRequest(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        status=answer.status,
                    )
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet tests

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
