"""Feeds listed in an OPML file, the format every feed reader exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outline:
    url: str
    title: str | None


def parse_opml(text: bytes | str) -> list[Outline]:
    """Every outline with an `xmlUrl`, at any depth (folders are flattened)."""
    if isinstance(text, str):
        text = text.encode()
    if b"<!ENTITY" in text:
        raise ValueError("OPML with entity declarations is not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not valid OPML: {exc}") from exc
    if root.tag.lower() != "opml":
        raise ValueError(f"not an OPML file (root element is <{root.tag}>)")
    outlines = []
    for element in root.iter():
        if element.tag.lower() != "outline":
            continue
        url = element.get("xmlUrl") or element.get("xmlurl")
        if url and url.strip():
            title = element.get("title") or element.get("text")
            outlines.append(Outline(url.strip(), title.strip() if title else None))
    return outlines


def read_opml(path: Path) -> list[Outline]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read OPML file {path}: {exc.strerror}") from exc
    outlines = parse_opml(data)
    if not outlines:
        raise ValueError(f"OPML file {path} lists no feeds (no outline has an xmlUrl)")
    return outlines
