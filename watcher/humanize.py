"""Short human renderings of times and sizes for the command line."""

from __future__ import annotations


def ago(then: float | None, now: float) -> str:
    """'never', 'just now', '5m ago', '3h ago', '2d ago'."""
    if then is None:
        return "never"
    return _span(now - then, "{} ago", "just now")


def until(when: float | None, now: float) -> str:
    """'-', 'now', 'in 5m'."""
    if when is None:
        return "-"
    return _span(when - now, "in {}", "now")


def _span(seconds: float, template: str, zero: str) -> str:
    if seconds < 1:
        return zero
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return template.format(f"{int(seconds // size)}{unit}")
    return template.format(f"{int(seconds)}s")


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
