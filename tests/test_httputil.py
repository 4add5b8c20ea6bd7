"""Bounded decompression: the piece that keeps a gzip bomb from filling memory."""

from __future__ import annotations

import gzip
import zlib

import pytest

from watcher.httputil import STEP, ContentDecoder, parse_expires, parse_http_date


def test_decoded_pieces_never_exceed_one_step_however_large_the_input_chunk() -> None:
    """10 MB of zeros gzip to ~10 kB, fed as one chunk; output still comes in small steps."""
    wire = gzip.compress(bytes(10_000_000), compresslevel=9)
    pieces = list(ContentDecoder("gzip").feed(wire))
    assert max(len(p) for p in pieces) <= STEP
    assert sum(len(p) for p in pieces) == 10_000_000


def test_decoding_can_stop_after_the_first_piece() -> None:
    """A generator: a consumer that stops early never makes zlib inflate the rest."""
    wire = gzip.compress(bytes(50_000_000), compresslevel=1)
    first = next(iter(ContentDecoder("gzip").feed(wire)))
    assert len(first) == STEP


def test_input_split_at_every_byte_decodes_the_same() -> None:
    body = b"<item>Istanbul talks</item>" * 50
    decoder = ContentDecoder("gzip")
    wire = gzip.compress(body)
    out = b"".join(piece for i in range(len(wire)) for piece in decoder.feed(wire[i : i + 1]))
    assert out == body


def test_second_gzip_member_arriving_in_a_later_chunk_is_decoded() -> None:
    decoder = ContentDecoder("gzip")
    first = b"".join(decoder.feed(gzip.compress(b"one ")))
    second = b"".join(decoder.feed(gzip.compress(b"two")))
    assert first + second == b"one two"


def test_identity_passes_bytes_through_untouched() -> None:
    decoder = ContentDecoder(" Identity ")
    assert decoder.identity
    assert list(decoder.feed(b"\xff\xfe raw")) == [b"\xff\xfe raw"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("br", "unsupported Content-Encoding 'br'"),
        ("gzip, zstd", "unsupported Content-Encoding 'zstd'"),
        ("gzip, gzip, gzip, gzip", "stacks 4 layers"),
    ],
)
def test_encodings_that_cannot_be_bounded_are_refused(header: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ContentDecoder(header)


def test_corrupt_deflate_raises_zlib_error() -> None:
    with pytest.raises(zlib.error):
        list(ContentDecoder("deflate").feed(b"\x00\x01 this is not deflate at all" * 4))


def test_parse_expires_is_relative_to_the_date_header_not_the_local_clock() -> None:
    now = parse_http_date("Fri, 16 May 2025 12:00:00 GMT")
    assert now is not None
    expires, seconds = parse_expires(
        "Fri, 16 May 2025 13:00:00 GMT", "Fri, 16 May 2025 12:30:00 GMT", now
    )
    assert (expires, seconds) == (parse_http_date("Fri, 16 May 2025 13:00:00 GMT"), 1800.0)
    assert parse_expires(None, None, now) == (None, None)
