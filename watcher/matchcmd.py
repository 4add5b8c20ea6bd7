"""`watcher match`: try a query on a feed, or on what is stored (a backtest), and see why.

A user tuning a topic runs this before putting the query in the config: every item is
listed as matched or not, and each match shows its terms and the snippet that decided it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from watcher.humanize import truncate
from watcher.model import Item
from watcher.query import Document, Match, Query, QuerySyntaxError, parse_query

BOLD, GREEN, DIM, RESET = "\033[1;33m", "\033[32m", "\033[2m", "\033[0m"


@dataclass(frozen=True)
class Candidate:
    """An item to try the query on, with the feed it came from."""

    item: Item
    feed_name: str = ""
    feed_url: str = ""


def compile_or_explain(text: str, aliases: Mapping[str, Sequence[str]]) -> Query:
    """The query, or a QuerySyntaxError whose message points at the column."""
    return parse_query(text, aliases)


def syntax_error_lines(text: str, exc: QuerySyntaxError) -> list[str]:
    """The query with a caret under the problem, as a compiler would show it."""
    return [
        f"query: column {exc.column}: {exc.message}",
        f"  {text}",
        "  " + " " * max(0, exc.column - 1) + "^",
    ]


def render_match(match: Match, color: bool) -> list[str]:
    lines = [f"    terms:   {', '.join(match.terms)}"]
    places = sorted({f"{h.field}[{h.index}]" if h.field == "body" else h.field
                     for h in match.hits})  # fmt: skip
    lines.append(f"    where:   {', '.join(places)}")
    if match.snippet is not None:
        snippet = match.snippet.render(BOLD, RESET) if color else match.snippet.render("[", "]")
        lines.append(f"    snippet: {snippet}")
    return lines


def run_match(
    query: Query,
    candidates: Iterable[Candidate],
    *,
    out: TextIO | None = None,
    color: bool = False,
    show_all: bool = True,
    as_json: bool = False,
) -> tuple[int, int]:
    """Print each candidate as matched or not; return (matched, total)."""
    out = out or sys.stdout
    matched = total = 0
    for candidate in candidates:
        total += 1
        item = candidate.item
        match = query.match(Document.from_item(item, candidate.feed_name, candidate.feed_url))
        if match is not None:
            matched += 1
        if as_json:
            record: dict[str, object] = {"matched": match is not None, **item.to_json()}
            record["feed"] = candidate.feed_name
            if match is not None:
                record["explanation"] = match.to_json()
            print(json.dumps(record, ensure_ascii=False), file=out)
            continue
        if match is None and not show_all:
            continue
        mark = (f"{GREEN}MATCH{RESET}" if color else "MATCH") if match else (
            f"{DIM}-    {RESET}" if color else "-    "
        )  # fmt: skip
        source = f"  ({truncate(candidate.feed_name, 30)})" if candidate.feed_name else ""
        print(f"{mark} {truncate(item.title or '(no title)', 100)}{source}", file=out)
        if match is not None:
            for line in render_match(match, color):
                print(line, file=out)
    if not as_json:
        print(f"\n{matched} of {total} items matched", file=out)
    return matched, total
