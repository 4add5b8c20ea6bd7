"""Deduplication: which paragraphs of an item are new, and whether it is a copy.

Pure parts (`fingerprint`, `boilerplate`, `decide`) work without a database; `store`
keeps fingerprints in SQLite. See `decide` for the rules.
"""

from watcher.dedup.boilerplate import boilerplate_reason
from watcher.dedup.decide import (
    DedupResult,
    DedupSettings,
    Match,
    ParagraphVerdict,
    PreparedItem,
    PreparedText,
    Status,
    Verdict,
    decide,
    prepare,
)
from watcher.dedup.fingerprint import Sketch, is_near_duplicate, similarity, sketch
from watcher.dedup.store import DedupStore

__all__ = [
    "DedupResult",
    "DedupSettings",
    "DedupStore",
    "Match",
    "ParagraphVerdict",
    "PreparedItem",
    "PreparedText",
    "Sketch",
    "Status",
    "Verdict",
    "boilerplate_reason",
    "decide",
    "is_near_duplicate",
    "prepare",
    "similarity",
    "sketch",
]
