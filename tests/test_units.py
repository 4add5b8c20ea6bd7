"""Durations and sizes as written in config files."""

import pytest

from watcher.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1.5h", 5400),
     ("250ms", 0.25), (45, 45), ("10", 10), (" 2 H ", 7200), ("1w", 604800)],
)  # fmt: skip
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "m5", "", "-3s", True, "1y"])
def test_bad_durations_say_what_is_expected(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "size"),
    [("10MB", 10_000_000), ("512KB", 512_000), ("1MiB", 1_048_576), ("2g", 2_000_000_000),
     (1024, 1024), ("100", 100), ("1.5kb", 1500)],
)  # fmt: skip
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "0", "10 furlongs", False])
def test_bad_sizes(text: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)  # type: ignore[arg-type]


def test_format_duration_picks_the_largest_exact_unit() -> None:
    assert [format_duration(s) for s in (300, 7200, 86400, 90, 1.5)] == [
        "5m", "2h", "1d", "90s", "1.5s"
    ]  # fmt: skip
