"""One HTTP/1.1 connection for the feed fetcher: h11 over watcher.netstream.

It does what httpcore's HTTP/1.1 connection does for watcher's requests (connect,
upgrade to TLS, send the request, read the head, stream the body, keep the connection
for the next request when both sides are done), without what a connection shared by
several tasks needs: httpcore guards each connection with anyio locks, and every
uncontended anyio lock still yields to the event loop once: six extra turns of the
loop per request, which was the largest cost of an unchanged poll when each answer
takes 100 ms. Here a connection is only ever used by the one request that took it
from watcher.connpool, so it needs no lock.

Errors are httpcore's (RemoteProtocolError with its wording, the netstream's Connect/
Read/WriteError and timeouts), which httpx's transport maps to its own.
"""

from __future__ import annotations

import enum
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import h11
import httpcore

__all__ = ["HTTP11Connection", "ResponseBody"]

READ_SIZE = 64 * 1024
MAX_HEAD = 100 * 1024  # most bytes of a response head buffered unfinished (as httpcore)


class _State(enum.Enum):
    NEW = "new"  # not connected yet
    ACTIVE = "active"  # a request is under way
    IDLE = "idle"  # connected, between requests
    CLOSED = "closed"


class HTTP11Connection:
    """A keep-alive connection to one origin, used by one request at a time."""

    def __init__(
        self,
        origin: httpcore.Origin,
        *,
        ssl_context: ssl.SSLContext,
        keepalive_expiry: float | None,
        network_backend: httpcore.AsyncNetworkBackend,
    ):
        self.origin = origin
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._backend = network_backend
        self._stream: httpcore.AsyncNetworkStream | None = None
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._state = _State.NEW
        self._expire_at: float | None = None

    def __repr__(self) -> str:
        return f"<HTTP11Connection {self.origin} {self._state.value}>"

    # --- what the pool asks ----------------------------------------------------------

    def is_idle(self) -> bool:
        return self._state is _State.IDLE

    def has_expired(self) -> bool:
        """Kept past its keep-alive time, or closed by the server meanwhile (anything
        readable on an idle connection is the server closing it)."""
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        return (
            self._state is _State.IDLE
            and self._stream is not None
            and bool(self._stream.get_extra_info("is_readable"))
        )

    async def aclose(self) -> None:
        self._state = _State.CLOSED
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.aclose()

    # --- one request ------------------------------------------------------------------

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._state not in (_State.NEW, _State.IDLE):
            raise httpcore.ConnectionNotAvailable()
        fresh = self._state is _State.NEW
        self._state = _State.ACTIVE
        self._expire_at = None
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            if fresh:
                self._stream = await self._connect(request, timeouts.get("connect"))
            await self._send(request, timeouts.get("write"))
            head = await self._receive_head(timeouts.get("read"))
        except BaseException:
            await self.aclose()
            raise
        return httpcore.Response(
            status=head.status_code,
            headers=head.headers.raw_items(),
            content=ResponseBody(self, timeouts.get("read")),
            extensions={
                "http_version": b"HTTP/" + head.http_version,
                "reason_phrase": head.reason,
                "network_stream": self._stream,
            },
        )

    async def _connect(
        self, request: httpcore.Request, timeout: float | None
    ) -> httpcore.AsyncNetworkStream:
        host = self.origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, self.origin.port, timeout=timeout)
        if self.origin.scheme == b"https":
            server_hostname = request.extensions.get("sni_hostname") or host
            stream = await stream.start_tls(
                self._ssl_context, server_hostname=server_hostname, timeout=timeout
            )
        return stream

    async def _send(self, request: httpcore.Request, timeout: float | None) -> None:
        stream = self._stream
        assert stream is not None
        start = h11.Request(
            method=request.method, target=request.url.target, headers=request.headers
        )
        pending = self._encode(start)
        assert isinstance(request.stream, AsyncIterable)
        async for chunk in request.stream:
            if chunk:
                await stream.write(pending + self._encode(h11.Data(data=chunk)), timeout)
                pending = b""
        await stream.write(pending + self._encode(h11.EndOfMessage()), timeout)

    def _encode(self, event: h11.Event) -> bytes:
        try:
            return self._h11.send(event) or b""
        except h11.LocalProtocolError as exc:
            raise httpcore.LocalProtocolError(str(exc)) from exc

    async def _receive_head(self, timeout: float | None) -> h11.Response:
        while True:
            event = await self._next_event(timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):  # pragma: no cover
                raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__}")
            # 1xx (100 Continue, 103 Early Hints): the real answer follows

    async def _next_event(self, timeout: float | None) -> Any:
        stream = self._stream
        assert stream is not None
        connection = self._h11
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpcore.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            data = await stream.read(READ_SIZE, timeout)
            # h11 reads the end of stream as a complete body when the server gave no
            # length; with no response at all it is the server going away
            if not data and connection.their_state is h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response."
                )
            connection.receive_data(data)

    async def _response_closed(self) -> None:
        """The body was read or abandoned: keep the connection only if the exchange is
        complete and neither side asked to close it."""
        connection = self._h11
        if (
            self._state is _State.ACTIVE
            and connection.our_state is h11.DONE
            and connection.their_state is h11.DONE
        ):
            connection.start_next_cycle()
            self._state = _State.IDLE
            if self._keepalive_expiry is not None:
                self._expire_at = time.monotonic() + self._keepalive_expiry
        else:
            await self.aclose()


class ResponseBody:
    """The response body in the form httpx takes from httpcore: chunks, then aclose()."""

    def __init__(self, connection: HTTP11Connection, timeout: float | None):
        self._connection = connection
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                event = await self._connection._next_event(self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                else:  # EndOfMessage, or ConnectionClosed for a body ended by the close
                    return
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._connection._response_closed()
