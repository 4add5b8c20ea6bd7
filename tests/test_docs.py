"""Docs stay honest: every command is in README, and README's set-up commands exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from watcher.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [c for c in commands() if f"`watcher {c}" not in readme]
    assert missing == []


def test_readme_opens_with_the_two_setup_commands_and_make_has_them() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[: readme.index("## Configuration")]
    assert "make run" in quick_start and "make test" in quick_start
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_design_contract_commands_all_exist() -> None:
    assert {"run", "once", "check", "parse", "match", "status", "alerts", "test-notify"} <= set(
        commands()
    )
