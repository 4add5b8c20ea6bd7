"""The optional HTTP listener of `watcher run`: `/healthz` and `/metrics`.

Off unless the config says `metrics: {listen: 127.0.0.1:9464}`.

It is served by an asyncio server on the daemon's own event loop rather than by
prometheus-client's thread server, for two reasons:

- `/healthz` then measures what matters: if the event loop is stalled, nothing answers
  (a probe's timeout is the right verdict); a thread would keep answering 200 for a dead
  loop unless it second-guessed it;
- every database read and write (the scrape's gauges, the health probe's write) runs on
  the loop's thread, like all the daemon's other work on its one SQLite connection:
  never two threads on one connection, no locking to add.

The HTTP is deliberately small: GET and HEAD, one request per connection, a bounded
request head read with a timeout, so a slow or hostile client costs one task, briefly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

MAX_HEAD = 8192  # bytes of request line and headers accepted
READ_TIMEOUT = 5.0  # seconds a client has to send its request head
PROBE_BUSY_TIMEOUT_MS = 2000  # the health probe's write waits this long for a lock
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


@dataclass(frozen=True)
class Health:
    """The verdict of `/healthz`: healthy only when every check passed."""

    ok: bool
    checks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", "checks": self.checks}


def judge_liveness(
    *, running: bool, last_tick: float | None, now: float, period: float
) -> str | None:
    """Why the scheduler is not alive, or None when it is (pure; monotonic times).

    Its heartbeat job runs every `period` seconds; three missed beats mean it is stuck.
    """
    if not running:
        return "the scheduler is not running"
    if last_tick is None:
        return "the scheduler has not run its heartbeat job yet"
    if now - last_tick > 3 * period:
        return (
            f"the scheduler's heartbeat is {now - last_tick:.0f}s old (expected every {period:g}s)"
        )
    return None


def probe_database(db: sqlite_utils.Database, now: float) -> str | None:
    """Write one row (and commit) to prove the database is writable; the problem, or None.

    Waits at most PROBE_BUSY_TIMEOUT_MS for a lock, so a database held by another
    process makes the probe fail fast instead of stalling the event loop for 30 s.
    """
    if db.conn.in_transaction:
        return None  # a write is under way on this very connection: it is writable
    try:
        (previous,) = db.execute("PRAGMA busy_timeout").fetchone()
        db.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_TIMEOUT_MS:d}")
        try:
            with db.atomic():
                db.execute(
                    "INSERT INTO heartbeat (id, at) VALUES (1, ?)"
                    " ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                    (now,),
                )
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(previous):d}")
    except sqlite3.Error as exc:
        return f"the database is not writable: {exc}"
    return None


class MonitorServer:
    """Serves `/healthz` (from `health()`) and `/metrics` (from `metrics()`) over HTTP."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        health: Callable[[], Health],
        metrics: Callable[[], bytes],
    ):
        self.host, self.requested_port = host, port
        self.health = health
        self.metrics = metrics
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.requested_port, limit=MAX_HEAD
        )
        log.info("metrics and health endpoints on http://%s/metrics and /healthz", self.address)

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the one the OS chose for 0)."""
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            status, headers, body, send_body = self._respond(head)
            writer.write(_response(status, headers, body if send_body else b"", len(body)))
            await writer.drain()
        except ConnectionError:
            pass  # the client went away
        except Exception:  # a bug here must never reach the event loop's other work
            log.exception("metrics endpoint: unexpected error")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    def _respond(self, head: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """(status, headers, body, whether to send the body) for one request head."""
        try:
            method, target, _version = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
        except ValueError:
            return 400, {}, b"bad request\n", True
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/metrics"):
            return 404, {}, b"not found: try /healthz or /metrics\n", method != "HEAD"
        if method not in ("GET", "HEAD"):
            return 405, {"Allow": "GET, HEAD"}, b"method not allowed\n", True
        if path == "/metrics":
            try:
                exposition = self.metrics()
            except Exception:
                log.exception("metrics endpoint: collecting the metrics failed")
                return 500, {}, b"collecting the metrics failed; see the log\n", True
            return 200, {"Content-Type": CONTENT_TYPE_LATEST}, exposition, method == "GET"
        verdict = self.health()
        body = json.dumps(verdict.to_json(), sort_keys=True).encode() + b"\n"
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        return (200 if verdict.ok else 503), headers, body, method == "GET"


def _response(status: int, headers: dict[str, str], body: bytes, length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip()]
    headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
    headers["Content-Length"] = str(length)
    headers["Connection"] = "close"
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
