"""Fingerprints of a paragraph or title: an exact hash and a near-duplicate sketch.

Pure functions, no I/O. Text is compared in `watcher.text.normalize` form, so case,
diacritics, quotes, dashes and punctuation never make two paragraphs differ.

*Exact*: a 64-bit hash of the normal form (a signed SQLite INTEGER). It tells an exact
repeat from a near one; the lookup itself goes through the band keys, which an exact
repeat shares in full.

*Near*: the normal form's word pairs ("shingles": "peskov said", "said on", ...) are
hashed once each (CRC-32: fast, in C, and stable across processes and Python versions,
unlike `hash()`), then reduced one-permutation MinHash style (each hash falls in one bin
by its top bits; a bin keeps its smallest hash):

- `minhash`: 32 bins, one byte kept per bin. Two sketches agree in a bin about as often
  as the two shingle sets agree (estimated Jaccard similarity); verification uses it.
- `bands`: the same bins merged in pairs (16 fuller bins, so short texts still fill
  them), 15 of them grouped in 5 bands of 3. Each band that has at least two non-empty
  bins gives one 31-bit key; two texts sharing any key are *candidates*. A
  band key is identical when none of its three minima changed, so a word or two edited
  in a paragraph of twenty words or more leaves most bands intact, while unrelated
  paragraphs almost never agree on three minima at once (that is what keeps the
  candidate lists short in a table of millions). Candidates are then verified with
  `similarity` so a chance band collision never merges two paragraphs. Equal texts
  share every band; a text too short for any band (three words or so) gets one key
  derived from its exact hash, so exact repeats are always found through the bands.

Changing anything here changes what is stored: it needs a migration that empties the
table (the cost is forgetting what was seen, which retention does anyway).

Word pairs rather than single words: single words (the, of, said...) are shared by
nearly every pair of paragraphs and would flood the candidate lists; pairs keep the
similarity of unrelated text near zero. A one-word text uses the word itself.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import zlib
from typing import NamedTuple

from watcher.text import normalize

KIND_PARAGRAPH = 0
KIND_TITLE = 1

SKETCH_BINS = 32
BANDS = 5
BAND_ROWS = 3
EMPTY = 255  # a bin no shingle fell into; real values are 0..254
MIN_NEAR_SHINGLES = 3  # shorter texts (under four words) are only ever exact repeats

_BIN_SHIFT = 27  # 32-bit CRC >> 27: one of 32 bins
_REPEAT_EMPTY = itertools.repeat(EMPTY)
_PERSON = (b"watcher-dedup-0", b"watcher-dedup-1")  # blake2b personalisation per kind
_UNRANKED = 1 << 32  # above any 32-bit CRC: the sketch bin is still empty
_NO_BANDS: tuple[int | None, ...] = (None,) * BANDS


class Sketch(NamedTuple):
    """What is stored (and compared) for one text instead of the text itself.

    A named tuple, not a dataclass: a parse worker sends hundreds of thousands of them
    to the main process on a first poll, and a tuple unpickles several times faster.
    """

    kind: int
    exact: int  # signed 64-bit hash of kind + normal form
    shingles: int  # how many distinct word pairs the text has
    minhash: bytes  # SKETCH_BINS bytes, EMPTY where no shingle fell
    bands: tuple[int | None, ...]  # BANDS keys (31-bit), None where the band is too empty


def exact_hash(normal: str, kind: int = KIND_PARAGRAPH) -> int:
    """64-bit hash (signed, so SQLite stores it as an INTEGER) of kind + normal form."""
    digest = hashlib.blake2b(normal.encode(), digest_size=8, person=_PERSON[kind])
    return int.from_bytes(digest.digest(), "little", signed=True)


def shingle_hashes(words: list[str]) -> set[int]:
    """CRC-32 of a text's distinct word pairs (of the word itself if it is alone)."""
    crc = zlib.crc32
    if len(words) == 1:
        return {crc(words[0].encode())}
    return {crc(f"{a} {b}".encode()) for a, b in itertools.pairwise(words)}


def sketch(
    text: str,
    kind: int = KIND_PARAGRAPH,
    *,
    normal: str | None = None,
    words: list[str] | None = None,
) -> Sketch | None:
    """The sketch of `text` (or of its precomputed normal form and its words)."""
    if normal is None:
        normal = normalize(text)
    if not normal:
        return None
    hashes = shingle_hashes(normal.split() if words is None else words)
    # One-permutation MinHash: the CRC's top 5 bits pick the bin, the CRC itself ranks
    # within it; each bin keeps its smallest CRC, modulo 255, as its byte.
    mins = [_UNRANKED] * SKETCH_BINS
    for crc in hashes:
        slot = crc >> _BIN_SHIFT
        if crc < mins[slot]:
            mins[slot] = crc
    kept = bytearray(map(operator.mod, mins, _REPEAT_EMPTY))
    if _UNRANKED in mins:
        for slot, value in enumerate(mins):
            if value == _UNRANKED:
                kept[slot] = EMPTY
    exact = exact_hash(normal, kind)
    bands = _band_keys(kind, mins)
    if bands == _NO_BANDS:
        # too short for any band: one key from the exact hash, so repeats are still found
        bands = ((exact >> 1) & 0x7FFFFFFF, *_NO_BANDS[1:])
    return Sketch(kind, exact, len(hashes), bytes(kept), bands)


def _band_keys(kind: int, mins: list[int]) -> tuple[int | None, ...]:
    """Band keys from the sketch bins merged in pairs (16 coarser bins, 15 used).

    Coarser bins are fuller, so short texts still get valid bands.
    """
    merged = [a if a < b else b for a, b in zip(mins[0::2], mins[1::2], strict=True)]
    keys: list[int | None] = []
    tag = kind * BANDS
    for band in range(BANDS):
        first, second, third = merged[band * BAND_ROWS : band * BAND_ROWS + BAND_ROWS]
        if (first == _UNRANKED) + (second == _UNRANKED) + (third == _UNRANKED) > 1:
            keys.append(None)  # one shingle alone would match too many other texts
            continue
        # 3 x 33 bits (32-bit minima, or _UNRANKED) and the kind/band tag, CRC'd to 31 bits
        packed = first | second << 33 | third << 66 | (tag + band) << 99
        keys.append(zlib.crc32(packed.to_bytes(14, "little")) & 0x7FFFFFFF)
    return tuple(keys)


def similarity(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard similarity of the two texts' word-pair sets (1.0 for equal text)."""
    if a.exact == b.exact and a.kind == b.kind:
        return 1.0
    used = agree = 0
    for x, y in zip(a.minhash, b.minhash, strict=True):
        if x == EMPTY and y == EMPTY:
            continue
        used += 1
        if x == y:
            agree += 1
    return agree / used if used else 0.0


def novel_shingles(new: Sketch, old: Sketch, sim: float) -> float:
    """About how many of `new`'s word pairs `old` lacks, from sizes and similarity.

    With |A ∩ B| ≈ J·(|A| + |B|) / (1 + J): an old paragraph with a sentence appended
    scores high similarity but also many novel pairs, which is how an extension of a
    paragraph (new facts added to an old lead) is told from a copy with a word changed.
    """
    shared = sim * (new.shingles + old.shingles) / (1.0 + sim)
    return max(0.0, new.shingles - shared)


def is_near_duplicate(new: Sketch, old: Sketch, threshold: float, max_novel: float) -> float | None:
    """The similarity if `new` repeats `old` (same kind, similar, adds little); else None."""
    if new.kind != old.kind:
        return None
    if min(new.shingles, old.shingles) < MIN_NEAR_SHINGLES and new.exact != old.exact:
        # a word or three: one agreeing byte could be chance, and editing a word of a
        # three-word line changes what it says; only exact repeats count
        return None
    sim = similarity(new, old)
    if sim < threshold or novel_shingles(new, old, sim) >= max_novel:
        return None
    return sim


def share_band(a: Sketch, b: Sketch) -> bool:
    """Whether a band lookup for `a` finds `b` (same kind and one equal band key)."""
    return a.kind == b.kind and any(
        x is not None and x == y for x, y in zip(a.bands, b.bands, strict=True)
    )
