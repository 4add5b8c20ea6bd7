"""watcher.netstream keeps httpcore's contract for a network backend: what is read, what
an idle connection reports, and which httpcore error (with which cause) each failure is.

Servers are real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore
import pytest
import trustme

from watcher.netstream import AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _with_server(
    handler: Handler,
    client: Callable[[int], Awaitable[Any]],
    tls: ssl.SSLContext | None = None,
) -> Any:
    async def run() -> Any:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
        try:
            return await client(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(run())


def test_reads_what_the_server_sent_then_end_of_stream() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readexactly(5)
        writer.write(b"echo:" + request)
        await writer.drain()
        writer.close()

    async def client(port: int) -> list[bytes]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"hello", timeout=5)
        received = []
        while chunk := await stream.read(3, timeout=5):
            received.append(chunk)
        await stream.aclose()
        return received

    assert _with_server(handler, client) == [b"ech", b"o:h", b"ell", b"o"]


def test_an_idle_connection_reads_as_readable_once_the_server_closes_it() -> None:
    """httpcore asks an idle kept connection whether it is readable: only a server's
    close (or stray bytes) makes it so, and then it is not reused."""
    closing = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await closing.wait()
        writer.close()

    async def client(port: int) -> tuple[bool, bool]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await asyncio.sleep(0.05)
        before = stream.get_extra_info("is_readable")
        closing.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if stream.get_extra_info("is_readable"):
                break
        after = stream.get_extra_info("is_readable")
        await stream.aclose()
        return before, after

    assert _with_server(handler, client) == (False, True)


def test_silence_past_the_read_timeout_is_httpcore_read_timeout() -> None:
    done = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # says nothing until the client gave up
        writer.close()

    async def client(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(100, timeout=0.1)
        done.set()
        await stream.aclose()

    _with_server(handler, client)


def test_refused_connection_is_connect_error_caused_by_the_refusal() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def connect() -> None:
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)

    with pytest.raises(httpcore.ConnectError) as failure:
        asyncio.run(connect())
    assert isinstance(failure.value.__cause__, ConnectionRefusedError)


def test_unresolvable_host_is_connect_error_caused_by_the_dns_failure() -> None:
    async def connect() -> None:
        await AsyncioBackend().connect_tcp("no-such-host.invalid", 80, timeout=5)

    with pytest.raises(httpcore.ConnectError) as failure:
        asyncio.run(connect())
    assert isinstance(failure.value.__cause__, socket.gaierror)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    data = await reader.read(100)
    writer.write(data.upper())
    await writer.drain()
    writer.close()


def test_tls_upgrade_reads_and_writes_through_the_encrypted_stream(
    ca: trustme.CA, tls_server_context: ssl.SSLContext
) -> None:
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def client(port: int) -> tuple[bytes, str]:
        plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        stream = await plain.start_tls(client_context, server_hostname="localhost", timeout=5)
        await stream.write(b"over tls", timeout=5)
        data = await stream.read(100, timeout=5)
        version = stream.get_extra_info("ssl_object").version()
        await stream.aclose()
        return data, version

    data, version = _with_server(_echo, client, tls=tls_server_context)
    assert data == b"OVER TLS"
    assert version.startswith("TLS")


def test_tls_with_a_certificate_for_another_name_is_connect_error(
    ca: trustme.CA, tls_server_context: ssl.SSLContext
) -> None:
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def client(port: int) -> None:
        plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ConnectError) as failure:
            await plain.start_tls(client_context, server_hostname="example.org", timeout=5)
        assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)

    _with_server(_echo, client, tls=tls_server_context)
