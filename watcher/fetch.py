"""Fetch one feed over HTTP: a polite conditional GET that a hostile server cannot hang.

Public API (the pipeline and the CLI build on exactly this):

    make_client(settings, *, transport=None) -> httpx.AsyncClient
        The one place the HTTP client is built; tests hand in an httpx.MockTransport.
    Fetcher(settings=None, *, transport=None, clock=None)
        Owns the client and the concurrency limits (global and per host).
        await fetcher.fetch(url, validators=Validators(...), limits=FetchLimits(...))
            -> FetchResult, or raises a watcher.errors.FetchError subclass
        await fetcher.aclose()  /  async with Fetcher(...) as fetcher: ...
    FetchSettings   client-wide: user_agent, max_concurrency, per_host, default limits
    FetchLimits     per feed: connect_timeout, read_timeout, deadline, max_bytes, max_redirects
    Validators      the stored ETag / Last-Modified sent back as If-None-Match / -Modified-Since
    FetchResult     status 2xx with the decoded body, or 304 with body=None
    backoff_delay(failures, *, base, cap, rng, jitter="full") -> seconds to wait
    parse_retry_after / parse_max_age / parse_http_date / parse_content_type: pure header
        parsers, defined in watcher.httputil and re-exported here

Errors (all carry `url` and a `reason` a user can act on; no httpx exception escapes).
`url` is the URL that failed: after a redirect, the hop that answered 410 or timed out;
TooManyRedirects names the URL the fetch started from.
    HTTPStatusError   4xx/5xx and unusable 3xx; `.status`, `.retry_after` (429/503)
    TooManyRedirects  more than max_redirects hops, or a loop ("redirect loop: A -> B -> A")
    ResponseTooLarge  the body went past max_bytes *after* decompression
    FetchTimeout      connect/read timeout, or the whole-fetch deadline
    FetchError        everything else: refused, DNS, TLS, protocol, broken gzip

The body is read raw and inflated by watcher.httputil.ContentDecoder in bounded steps,
not by httpx, so a gzip bomb is stopped at max_bytes without ever being held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

import httpx

from watcher import __version__
from watcher.connpool import pooled_client
from watcher.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from watcher.httputil import (
    STEP,
    ContentDecoder,
    parse_content_type,
    parse_expires,
    parse_http_date,
    parse_max_age,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchLimits",
    "FetchResult",
    "FetchSettings",
    "Fetcher",
    "Validators",
    "backoff_delay",
    "make_client",
    "parse_content_type",
    "parse_http_date",
    "parse_max_age",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

# Names the project so publishers can tell what polls them; `user_agent:` overrides it.
DEFAULT_USER_AGENT = f"watcher/{__version__} (news alert daemon; feed reader)"
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
# Only what we can inflate with a bounded output size; httpx would otherwise add br/zstd.
ACCEPT_ENCODING = "gzip, deflate"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Per-feed limits: a feed may override timeout and max_bytes in the config.

    `deadline` bounds the whole fetch, redirects included, from the moment a connection
    slot is ours (waiting behind other feeds of the same host does not count); it is what
    stops a server that trickles one byte a second, which never trips `read_timeout`.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "deadline"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes!r}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects cannot be negative, got {self.max_redirects!r}")

    @classmethod
    def from_config(cls, timeout: float, max_bytes: int, *, max_redirects: int = 5) -> Self:
        """Limits for a config `timeout` (the whole-fetch deadline) and `max_bytes`.

        Connecting gets at most 10 s of it: a host that takes longer to accept is down.
        """
        return cls(
            connect_timeout=min(10.0, timeout),
            read_timeout=timeout,
            deadline=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
        )


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Client-wide settings; one Fetcher (and one connection pool) per daemon."""

    user_agent: str = DEFAULT_USER_AGENT
    max_concurrency: int = 20
    per_host: int = 4
    limits: FetchLimits = FetchLimits()
    accept: str = DEFAULT_ACCEPT
    # Honour HTTP(S)_PROXY, SSL_CERT_FILE and friends from the environment (httpx default).
    trust_env: bool = True

    def __post_init__(self) -> None:
        if self.max_concurrency < 1 or self.per_host < 1:
            raise ValueError("max_concurrency and per_host must be at least 1")


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server told us last time, sent back so it can answer 304 Not Modified."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One successful fetch: 2xx with the decoded body, or 304 with `body=None`.

    `etag`/`last_modified` are the validators to store for the next poll (on a 304 the
    stored ones are carried forward unless the server sent new ones). `permanent_redirect`
    is set only when every hop was 301/308: the caller should update the feed's URL.
    `max_age` is Cache-Control max-age in seconds; `expires` is the Expires header and
    `expires_in` its distance from the response's Date (or now), 0 if it is invalid.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None
    body_hash: str | None
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None = None
    max_age: float | None = None
    expires: datetime | None = None
    expires_in: float | None = None
    redirects: tuple[str, ...] = ()
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)

    @property
    def media_type(self) -> str | None:
        """`application/rss+xml` from `Application/RSS+XML; charset=utf-8`."""
        return parse_content_type(self.content_type)[0]


# --- backoff ------------------------------------------------------------------------------


def backoff_delay(
    failures: int,
    *,
    base: float,
    cap: float,
    rng: random.Random,
    jitter: Literal["full", "equal"] = "full",
) -> float:
    """Seconds to wait after `failures` consecutive failures: exponential, capped, jittered.

    The ceiling is `min(cap, base * 2**(failures-1))`. "full" jitter draws uniformly in
    [0, ceiling] (spreads a thundering herd best); "equal" draws in [ceiling/2, ceiling]
    (never retries almost at once). No failures, no delay.
    """
    if failures < 0:
        raise ValueError(f"failures cannot be negative, got {failures}")
    if base <= 0 or cap <= 0:
        raise ValueError(f"base and cap must be positive, got base={base} cap={cap}")
    if failures == 0:
        return 0.0
    ceiling = min(cap, base * 2.0 ** min(failures - 1, 64))
    if jitter == "full":
        return rng.uniform(0.0, ceiling)
    if jitter == "equal":
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)
    raise ValueError(f"jitter must be 'full' or 'equal', got {jitter!r}")


def _size(n: int) -> str:
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= factor:
            return f"{n / factor:g}{unit}"
    return f"{n} bytes"


# --- error translation --------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _transport_reason(exc: Exception, url: str) -> str:
    """A short, actionable reason for a network-level failure."""
    target = httpx.URL(url)
    where = f"{target.host}:{target.port or (443 if target.scheme == 'https' else 80)}"
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where} (is the server down?)"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host {target.host!r} (DNS: {cause.strerror or cause})"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate of {target.host} not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {target.host} failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset by {where}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme (only http:// and https:// can be fetched)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the HTTP protocol: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {where}: {exc}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"connection to {where} broke mid-transfer: {exc or type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _timeout_reason(exc: httpx.TimeoutException, limits: FetchLimits) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {limits.connect_timeout:g}s"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection in the pool (too many fetches in flight)"
    if isinstance(exc, httpx.WriteTimeout):
        return f"could not send the request within {limits.read_timeout:g}s"
    return f"server sent nothing for {limits.read_timeout:g}s (read timeout)"


# --- the fetcher --------------------------------------------------------------------------


# Idle connections kept open, at most, over all hosts (the longest idle is closed first).
# As many as fetches run at once: a poll of many feeds on one host then reuses every
# connection (2,000 unchanged feeds on one server: 33 connections, not 1,956). Feeds on
# many hosts, polled minutes apart, seldom reuse one, and keeping it costs a socket.
KEEPALIVE_CONNECTIONS = 32


def make_client(
    settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client every fetch goes through; redirects are ours, not httpx's."""
    limits = settings.limits
    pool_limits = httpx.Limits(
        max_connections=settings.max_concurrency,
        max_keepalive_connections=min(KEEPALIVE_CONNECTIONS, settings.max_concurrency),
    )
    options: dict[str, Any] = {
        "headers": {
            "User-Agent": settings.user_agent,
            "Accept": settings.accept,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        "follow_redirects": False,
        "timeout": _timeout(limits),
        "trust_env": settings.trust_env,
    }
    if transport is not None:  # tests: it carries every request itself
        return httpx.AsyncClient(limits=pool_limits, transport=transport, **options)
    return pooled_client(pool_limits, **options)


def _timeout(limits: FetchLimits) -> httpx.Timeout:
    return httpx.Timeout(
        connect=limits.connect_timeout,
        read=limits.read_timeout,
        write=limits.read_timeout,
        pool=limits.deadline,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Progress:
    """Where a fetch is, so a deadline error can say which URL and how far it got."""

    chain: list[str]
    target: httpx.URL  # chain[-1], parsed: httpx's URL parser is slow enough to matter
    received: int = 0

    @property
    def current(self) -> str:
        return self.chain[-1]


@dataclass(frozen=True, slots=True)
class _Redirect:
    target: httpx.URL
    status: int


@dataclass(frozen=True, slots=True)
class _Final:
    status: int
    headers: httpx.Headers
    body: bytes | None = None
    body_hash: str | None = None


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """Fetches feeds with one shared client, at most `max_concurrency` at once overall and
    `per_host` at once per host, so 500 feeds on one server are polled politely.

    `transport` is handed to make_client (tests use httpx.MockTransport). `clock` gives
    "now" for Retry-After and Expires when the response carries no Date header.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.settings = settings or FetchSettings()
        self.clock = clock or _utcnow
        self._client = make_client(self.settings, transport=transport)
        self._global = asyncio.Semaphore(self.settings.max_concurrency)
        self._hosts: dict[str, _HostSlot] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        limits: FetchLimits | None = None,
    ) -> FetchResult:
        """GET `url` conditionally and follow redirects; raise a FetchError on failure."""
        validators = validators or Validators()
        limits = limits or self.settings.limits
        progress = _Progress([url], _check_url(url, url))
        loop = asyncio.get_running_loop()
        async with self._global:
            started = loop.time()
            try:
                async with asyncio.timeout(limits.deadline) as deadline:
                    final, permanent = await self._follow(validators, limits, progress, deadline)
            except FetchError:
                raise
            except TimeoutError:
                got = f", got {_size(progress.received)} so far" if progress.received else ""
                raise FetchTimeout(
                    progress.current,
                    f"no complete response within the {limits.deadline:g}s deadline{got}",
                ) from None
            elapsed = loop.time() - started
        result = self._result(url, final, validators, permanent, progress, elapsed)
        size = len(result.body) if result.body is not None else 0
        log.debug("fetched %s: HTTP %s, %d bytes in %.2fs", url, result.status, size, elapsed)
        return result

    async def _follow(
        self,
        validators: Validators,
        limits: FetchLimits,
        progress: _Progress,
        deadline: asyncio.Timeout,
    ) -> tuple[_Final, bool]:
        permanent = True
        while True:
            async with self._host_slot(progress.target.host, deadline):
                outcome = await self._hop(progress.target, validators, limits, progress)
            if isinstance(outcome, _Final):
                return outcome, permanent and len(progress.chain) > 1
            seen = progress.chain[:]
            target = str(outcome.target)
            progress.chain.append(target)
            progress.target = outcome.target
            trail = " -> ".join(progress.chain)
            if target in seen:
                raise TooManyRedirects(progress.chain[0], f"redirect loop: {trail}")
            if len(progress.chain) - 1 > limits.max_redirects:
                raise TooManyRedirects(
                    progress.chain[0], f"more than {limits.max_redirects} redirects: {trail}"
                )
            permanent = permanent and outcome.status in PERMANENT_REDIRECTS
            log.debug("redirect %s: %s -> %s", outcome.status, seen[-1], target)

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str, deadline: asyncio.Timeout) -> AsyncIterator[None]:
        """Hold one of the host's `per_host` slots; the deadline pauses while we queue."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self.settings.per_host))
        slot.users += 1
        loop = asyncio.get_running_loop()
        when = deadline.when()
        remaining = None if when is None else when - loop.time()
        try:
            deadline.reschedule(None)
            try:
                await slot.semaphore.acquire()
            finally:
                if remaining is not None:
                    deadline.reschedule(loop.time() + remaining)
            try:
                yield
            finally:
                slot.semaphore.release()
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._hosts[host]

    async def _hop(
        self, target: httpx.URL, validators: Validators, limits: FetchLimits, progress: _Progress
    ) -> _Final | _Redirect:
        """One request: a redirect to follow, or the final answer."""
        url = progress.current
        headers: dict[str, bytes] = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag.encode()
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified.encode()
        try:
            async with self._client.stream(
                "GET", target, headers=headers, timeout=_timeout(limits)
            ) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    return _Redirect(_location(response, url), status)
                if status == 304:
                    # A 304 has no body (h11 reads none, whatever the headers say), but
                    # httpcore reuses a connection only once its response was read: left
                    # unread, every 304 closed its connection and the next poll of the
                    # host paid a new TCP (and TLS) handshake.
                    await response.aread()
                    return _Final(status, response.headers)
                if 200 <= status < 300:
                    body, digest = await _read_body(response, url, limits, progress)
                    return _Final(status, response.headers, body, digest)
                raise self._status_error(url, response)
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, _timeout_reason(exc, limits)) from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, _transport_reason(exc, url)) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"invalid URL: {exc}") from exc
        except zlib.error as exc:
            raise FetchError(url, f"body is not valid gzip/deflate data: {exc}") from exc
        except OSError as exc:  # anything the transport did not wrap
            raise FetchError(url, f"network error: {exc.strerror or exc}") from exc

    def _status_error(self, url: str, response: httpx.Response) -> HTTPStatusError:
        retry_after = None
        if response.status_code in RETRY_AFTER_STATUSES:
            reference = parse_http_date(response.headers.get("Date")) or self.clock()
            retry_after = parse_retry_after(response.headers.get("Retry-After"), reference)
        return HTTPStatusError(url, response.status_code, retry_after)

    def _result(
        self,
        url: str,
        final: _Final,
        validators: Validators,
        permanent: bool,
        progress: _Progress,
        elapsed: float,
    ) -> FetchResult:
        headers = final.headers
        content_type = headers.get("Content-Type")
        etag = headers.get("ETag")
        last_modified = headers.get("Last-Modified")
        if final.status == 304:
            etag = etag or validators.etag
            last_modified = last_modified or validators.last_modified
        expires, expires_in = parse_expires(
            headers.get("Expires"), headers.get("Date"), self.clock()
        )
        return FetchResult(
            url=url,
            final_url=progress.current,
            status=final.status,
            body=final.body,
            body_hash=final.body_hash,
            content_type=content_type,
            charset=parse_content_type(content_type)[1],
            etag=etag,
            last_modified=last_modified,
            permanent_redirect=progress.current if permanent else None,
            max_age=parse_max_age(headers.get("Cache-Control")),
            expires=expires,
            expires_in=expires_in,
            redirects=tuple(progress.chain[1:]),
            elapsed=elapsed,
        )


def _check_url(url: str, feed_url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(feed_url, f"invalid URL {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(feed_url, f"not an http(s) URL: {url!r}")
    return parsed


def _location(response: httpx.Response, url: str) -> httpx.URL:
    """The absolute redirect target, without fragment, in httpx's normal form."""
    location = response.headers.get("Location")
    if not location:
        raise FetchError(url, f"HTTP {response.status_code} redirect without a Location header")
    try:
        target = httpx.URL(url).join(location.strip()).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(url, f"redirect to an invalid Location {location!r}") from exc
    return _check_url(str(target), url)


async def _read_body(
    response: httpx.Response, url: str, limits: FetchLimits, progress: _Progress
) -> tuple[bytes, str]:
    """The decoded body and its sha256, stopping as soon as it passes max_bytes."""
    try:
        decoder = ContentDecoder(response.headers.get("Content-Encoding"))
    except ValueError as exc:
        raise FetchError(url, str(exc)) from None
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    if response.is_stream_consumed:  # a transport that read and decoded it (MockTransport)
        decoder, chunks = ContentDecoder(None), _already_read(response)
    limit = limits.max_bytes
    declared = response.headers.get("Content-Length", "")
    if decoder.identity and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(url, f"Content-Length {_size(int(declared))} is over the "
                                    f"{_size(limit)} limit")  # fmt: skip
    # Compressed data is never much bigger than what it inflates to; a wire stream far past
    # the limit is garbage after the end of the gzip stream, or empty members without end.
    wire_limit = limit + limit // 8 + STEP
    wire = 0
    body = bytearray()
    digest = hashlib.sha256()
    async for raw in chunks:
        wire += len(raw)
        if wire > wire_limit:
            raise ResponseTooLarge(url, f"more than {_size(wire_limit)} on the wire")
        for piece in decoder.feed(raw):
            if len(body) + len(piece) > limit:
                raise ResponseTooLarge(
                    url, f"body is over the {_size(limit)} limit (after decompression)"
                )
            body += piece
            digest.update(piece)
            progress.received = len(body)
    return bytes(body), digest.hexdigest()


async def _already_read(response: httpx.Response) -> AsyncIterator[bytes]:
    yield response.content
