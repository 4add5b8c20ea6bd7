"""Keep-alive connections for the feed fetcher, found in constant time.

httpcore's own pool re-examines every connection for every waiting request each time a
request starts or a response closes: with 32 fetches in flight, about a thousand checks
per event. Keeping 32 connections alive then cost more CPU than opening a new one per
feed, and with fewer kept it closed nearly every connection anyway (it compares the
keep-alive limit with all connections, not the idle ones). This pool keeps idle
connections in a list per origin, newest last, and does nothing per event but take one
out or put one back.

It hands out watcher.http11 connections, each to one request at a time, and it has no
queue: how many fetches run at once is watcher.fetch.Fetcher's business (its global and
per-host semaphores). httpx's transport wraps it as it would wrap httpcore's pool,
mapping httpcore's errors to httpx's.
"""

from __future__ import annotations

import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import httpcore
import httpx

from watcher.http11 import HTTP11Connection, ResponseBody
from watcher.netstream import AsyncioBackend

__all__ = ["OriginPool", "pooled_client"]

# A kept connection the server closed meanwhile shows only when the request is sent; the
# request is then tried again, on another connection, this many times in all.
RETRIES_ON_STALE = 3

# httpcore.Origin is not hashable: pools are keyed by (scheme, host, port)
_Key = tuple[bytes, bytes, int]


class OriginPool:
    """Idle connections per origin (scheme, host, port), at most `max_idle` in all (None:
    no limit).

    `keepalive_expiry` is how long an idle connection is kept; older ones are closed
    when next looked at, and a sweep at most once a second closes the rest.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_idle: int | None,
        keepalive_expiry: float | None,
        network_backend: httpcore.AsyncNetworkBackend,
    ):
        self._ssl_context = ssl_context
        ssl_context.set_alpn_protocols(["http/1.1"])
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._backend = network_backend
        # idle connections by origin, oldest first; and all of them in the order they
        # became idle, for closing the longest-waiting one when there are too many
        self._idle: dict[_Key, list[HTTP11Connection]] = {}
        self._idle_order: OrderedDict[HTTP11Connection, _Key] = OrderedDict()
        self._busy: set[HTTP11Connection] = set()
        self._swept = time.monotonic()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection, idle or busy."""
        connections = [*self._idle_order, *self._busy]
        self._idle.clear()
        self._idle_order.clear()
        self._busy.clear()
        for connection in connections:
            await connection.aclose()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(f"request URL has an unsupported scheme {scheme!r}")
        if not request.url.host:
            raise httpcore.UnsupportedProtocol("request URL has no host")
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)
        for _ in range(RETRIES_ON_STALE):
            connection = await self._reuse(key)
            reused = connection is not None
            if connection is None:
                connection = HTTP11Connection(
                    origin,
                    ssl_context=self._ssl_context,
                    keepalive_expiry=self._keepalive_expiry,
                    network_backend=self._backend,
                )
            self._busy.add(connection)
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                await self._discard(connection)
                continue
            except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError):
                # a kept connection the server had closed just before it was reused (its
                # FIN not yet seen): a GET is safe to send again, on a new connection
                await self._discard(connection)
                if reused and request.method in (b"GET", b"HEAD"):
                    continue
                raise
            except BaseException:
                await self._discard(connection)
                raise
            assert isinstance(response.stream, ResponseBody)
            return httpcore.Response(
                status=response.status,
                headers=response.headers,
                content=_ReturnedOnClose(response.stream, self, key, connection),
                extensions=response.extensions,
            )
        raise httpcore.ConnectError(f"no usable connection to {origin} in {RETRIES_ON_STALE} tries")

    async def _reuse(self, key: _Key) -> HTTP11Connection | None:
        """The newest idle connection to this origin still good to use, if any."""
        # the pool's lists are settled before the first await: another task may run there
        stale = self._sweep()
        found = None
        while key in self._idle:
            connection = self._idle[key][-1]
            self._forget(key, connection)
            if connection.is_idle() and not connection.has_expired():
                found = connection
                break
            stale.append(connection)
        for connection in stale:
            await connection.aclose()
        return found

    async def _discard(self, connection: HTTP11Connection) -> None:
        self._busy.discard(connection)
        await connection.aclose()

    async def _checkin(self, key: _Key, connection: HTTP11Connection) -> None:
        """A response was closed: keep its connection if it can serve another request."""
        self._busy.discard(connection)
        if not connection.is_idle():
            await connection.aclose()
            return
        self._idle.setdefault(key, []).append(connection)
        self._idle_order[connection] = key
        if self._max_idle is not None and len(self._idle_order) > self._max_idle:
            oldest, its_key = next(iter(self._idle_order.items()))
            self._forget(its_key, oldest)
            await oldest.aclose()

    def _forget(self, key: _Key, connection: HTTP11Connection) -> None:
        idle = self._idle[key]
        idle.remove(connection)
        if not idle:
            del self._idle[key]
        del self._idle_order[connection]

    def _sweep(self) -> list[HTTP11Connection]:
        """At most once a second: take out the idle connections expired or closed by the
        server, for the caller to close."""
        now = time.monotonic()
        if now - self._swept < 1.0:
            return []
        self._swept = now
        stale = [
            (connection, key)
            for connection, key in self._idle_order.items()
            if connection.has_expired() or not connection.is_idle()
        ]
        for connection, key in stale:
            self._forget(key, connection)
        return [connection for connection, _ in stale]


def pooled_client(
    limits: httpx.Limits, *, trust_env: bool = True, **options: Any
) -> httpx.AsyncClient:
    """An httpx.AsyncClient whose requests that no proxy takes go through this pool,
    watcher.http11 and watcher.netstream instead of httpcore's pool and anyio (on a poll
    of thousands of unchanged feeds, those were most of the CPU).

    httpx builds the client as usual, reading HTTP(S)_PROXY, ALL_PROXY and NO_PROXY
    when `trust_env` (it does only when given no transport); then its default transport,
    the one for everything not proxied, gets this pool. `options` are AsyncClient's.
    """
    # one TLS context for httpx's transports and the pool: loading the CA bundle costs
    # 30 ms of CPU each time (SSL_CERT_FILE and SSL_CERT_DIR apply when `trust_env`)
    ssl_context = httpx.create_ssl_context(trust_env=trust_env)
    client = httpx.AsyncClient(limits=limits, verify=ssl_context, trust_env=trust_env, **options)
    _use_pool(getattr(client, "_transport", None), limits, ssl_context)
    return client


def _use_pool(transport: object, limits: httpx.Limits, ssl_context: ssl.SSLContext) -> None:
    """Replace the pool of httpx's transport with an OriginPool.

    httpx offers no argument for the pool. Should a future httpx keep its transport or
    pool elsewhere, httpx's own is left in place: slower (test_fetch_keepalive.py would
    fail), never broken. `limits.max_connections` is not enforced: the pool has no
    queue, and its users bound how many requests they make at once.
    """
    if isinstance(transport, httpx.AsyncHTTPTransport) and isinstance(
        getattr(transport, "_pool", None), httpcore.AsyncConnectionPool
    ):
        transport._pool = OriginPool(  # type: ignore[assignment]
            ssl_context=ssl_context,
            max_idle=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )


class _ReturnedOnClose:
    """A response body that gives its connection back to the pool once closed."""

    def __init__(
        self,
        stream: ResponseBody,
        pool: OriginPool,
        key: _Key,
        connection: HTTP11Connection,
    ):
        self._stream = stream
        self._pool = pool
        self._key = key
        self._connection = connection
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            await self._pool._checkin(self._key, self._connection)
