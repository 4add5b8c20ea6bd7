"""The network under watcher.http11: httpcore's backend interface on asyncio's own
transports, without anyio in between.

httpcore reaches the network through a small interface (connect, read, write, start
TLS). Its default on asyncio goes through anyio, which wraps every read and write in
cancel scopes and resolves every address through `ipaddress`: for a poll of 2,000
unchanged feeds (2,000 conditional GETs answered 304) that layer was the largest share
of the CPU. This backend answers the same interface with one asyncio.Protocol per
connection, and keeps httpcore's contract for errors: failures are raised as httpcore's
ConnectError / ReadError / WriteError and their Timeout twins, with the OSError or
SSLError as the cause, which watcher.fetch reads to say what went wrong.

Plain HTTP proxies and SOCKS keep httpx's own transports (httpx mounts them itself).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

__all__ = ["AsyncioBackend", "AsyncioStream"]

# Above this many unread bytes the socket stops being read until the reader catches up:
# a large feed is consumed in httpcore's 64 KiB reads, never held whole in this buffer.
HIGH_WATER = 256 * 1024

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class AsyncioStream(asyncio.Protocol, httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection: the protocol asyncio feeds, and the stream httpcore
    reads. One reader at a time, as a watcher.http11 connection guarantees."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._lost: BaseException | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        # returning None lets asyncio close the transport: a half-closed HTTP/1.1
        # connection is of no further use
        self._eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._writing_paused = False
        self._wake()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, timeout: float | None) -> None:
        """Until the protocol has news (data, EOF, room to write); TimeoutError after
        `timeout` seconds."""
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._waiter = None

    # --- httpcore.AsyncNetworkStream ------------------------------------------------

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._buffer and not self._eof:
            try:
                await self._wait(timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out waiting for the server") from None
        buffer = self._buffer
        if buffer:
            if len(buffer) <= max_bytes:
                data = bytes(buffer)
                buffer.clear()
            else:
                data = bytes(buffer[:max_bytes])
                del buffer[:max_bytes]
            if self._reading_paused and len(buffer) <= HIGH_WATER // 4 and self._transport:
                self._reading_paused = False
                self._transport.resume_reading()
            return data
        lost = self._lost
        if lost is not None:
            raise httpcore.ReadError(str(lost) or type(lost).__name__) from lost
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            cause = self._lost or ConnectionResetError("connection closed")
            raise httpcore.WriteError(str(cause)) from cause
        transport.write(buffer)
        while self._writing_paused:
            try:
                await self._wait(timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out sending to the server") from None
        if self._lost is not None:
            raise httpcore.WriteError(str(self._lost)) from self._lost

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        assert self._transport is not None and not self._buffer
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except OSError as exc:  # ssl.SSLError among them
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if tls is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        assert isinstance(tls, asyncio.Transport)
        self._transport = tls
        return self

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "is_readable":
            # asked of idle pooled connections: anything readable there is the server
            # closing it. The event loop has already read what the socket had.
            return bool(self._buffer) or self._eof or transport is None or transport.is_closing()
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections opened by asyncio's event loop (which also races IPv6 and IPv4
    addresses, 250 ms apart, as anyio does)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        stream = AsyncioStream()
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(
                    lambda: stream,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
