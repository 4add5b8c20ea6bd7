"""Pure HTTP helpers for the fetch stage: header parsing and bounded decompression.

No I/O and no httpx here, so each piece is tested with plain values. watcher.fetch
re-exports the parsers; import them from there.

Why decompression lives here and not in httpx: httpx inflates each network chunk in one
call, so a 64 KiB chunk of a gzip bomb becomes ~64 MB in memory before anyone can count
it. `ContentDecoder` inflates with a bounded `max_length`, so the caller sees the body
in pieces of at most STEP bytes and can stop at its limit, whatever the compression.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

STEP = 64 * 1024  # largest piece of decoded body produced at once
MAX_ENCODINGS = 3  # "gzip, gzip, gzip, ..." beyond this is an attack, not a feed
_GZIP_MAGIC = b"\x1f\x8b"


# --- headers ------------------------------------------------------------------------------


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`) as an aware UTC datetime, else None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date after `now`.

    A date in the past means "now" (0); anything unreadable is None (no advice).
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        return max(0.0, (when - _aware(now)).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def parse_max_age(cache_control: str | None) -> float | None:
    """`max-age` of a Cache-Control header in seconds; `no-cache`/`no-store` count as 0."""
    if not cache_control:
        return None
    found: float | None = None
    for directive in cache_control.split(","):
        name, _, arg = directive.partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return 0.0
        if name == "max-age":
            with contextlib.suppress(ValueError):
                found = max(0.0, float(int(arg.strip().strip('"'))))
    return found


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type lower-cased, charset exactly as declared) from a Content-Type header."""
    if not value:
        return None, None
    media, *params = value.split(";")
    charset = None
    for param in params:
        name, _, arg = param.partition("=")
        if name.strip().lower() == "charset":
            charset = arg.strip().strip("\"'").strip() or None
    return media.strip().lower() or None, charset


def parse_expires(
    expires: str | None, date: str | None, now: datetime
) -> tuple[datetime | None, float | None]:
    """(Expires as a datetime, seconds it is away from the response's Date, else `now`).

    An Expires that is present but invalid ("0", "-1") means already expired (RFC 9111).
    """
    if expires is None:
        return None, None
    when = parse_http_date(expires)
    if when is None:
        return None, 0.0
    reference = parse_http_date(date) or _aware(now)
    return when, max(0.0, (when - reference).total_seconds())


# --- bounded decompression ----------------------------------------------------------------


class Inflater:
    """Incremental gzip/deflate decoder whose every output piece is at most STEP bytes.

    Raises zlib.error on data that is not what it claims to be. Like browsers, it accepts
    concatenated gzip members and ignores bytes after the end of the stream.
    """

    def __init__(self, encoding: str):
        if encoding not in ("gzip", "deflate"):
            raise ValueError(f"cannot inflate {encoding!r}")
        self.encoding = encoding
        self._wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self._fresh = True  # "deflate" may be raw deflate without the zlib header
        self._ended = False  # past the last member: the rest is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate.eof and not self._ended:
            self._next_member(data)
        while not self._ended:
            try:
                out = self._inflate.decompress(data, STEP)
            except zlib.error:
                if self.encoding == "deflate" and self._fresh:
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._fresh = False
                    continue
                raise
            self._fresh = False
            if out:
                yield out
            if self._inflate.eof:
                data = self._inflate.unused_data
                if not data or not self._next_member(data):
                    return
                continue
            data = self._inflate.unconsumed_tail
            if not data and len(out) < STEP:
                return  # input used up and zlib holds no more output

    def _next_member(self, data: bytes) -> bool:
        """After the end of a stream: start the next gzip member, or ignore the rest."""
        if self.encoding == "gzip" and data.startswith(_GZIP_MAGIC):
            self._inflate = zlib.decompressobj(self._wbits)
            return True
        self._ended = True
        return False


class ContentDecoder:
    """Undoes a Content-Encoding header ("gzip", "deflate", "gzip, gzip", "identity").

    Raises ValueError for an encoding it cannot bound (br, zstd, compress) or a stack
    deeper than MAX_ENCODINGS; `feed` raises zlib.error on corrupt data.
    """

    def __init__(self, content_encoding: str | None):
        names = [n.strip().lower() for n in (content_encoding or "").split(",")]
        names = [{"x-gzip": "gzip"}.get(n, n) for n in names if n not in ("", "identity")]
        if len(names) > MAX_ENCODINGS:
            raise ValueError(f"Content-Encoding stacks {len(names)} layers; refusing")
        for name in names:
            if name not in ("gzip", "deflate"):
                raise ValueError(f"unsupported Content-Encoding {name!r} (we asked for gzip)")
        # The last encoding listed was applied last, so it is undone first.
        self._layers = [Inflater(name) for name in reversed(names)]

    @property
    def identity(self) -> bool:
        return not self._layers

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of at most STEP bytes (identity: `data` as it came)."""
        return self._through(0, data)

    def _through(self, layer: int, data: bytes) -> Iterator[bytes]:
        if layer == len(self._layers):
            yield data
            return
        for piece in self._layers[layer].feed(data):
            yield from self._through(layer + 1, piece)
