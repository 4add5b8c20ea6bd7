"""The shipped unit file: systemd accepts it and rates its sandbox 1.5 or better."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "watcher.service"
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def test_security_exposure_is_at_most_1_5() -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for watcher\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 1.5


def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    """verify needs ExecStart to exist: point it at this environment's watcher."""
    watcher = Path(sys.executable).with_name("watcher")
    if not watcher.exists():
        pytest.skip(f"no watcher console script beside {sys.executable}")
    unit = tmp_path / "watcher.service"
    unit.write_text(UNIT.read_text().replace("/opt/watcher/.venv/bin/watcher", str(watcher)))
    result = subprocess.run(
        [ANALYZE, "verify", "--no-pager", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_unit_is_type_notify_with_reload_restart_and_watchdog() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                 "WatchdogSec=", "StateDirectory=watcher", "ConfigurationDirectory=watcher",
                 "EnvironmentFile=-/etc/watcher/watcher.env"):  # fmt: skip
        assert line in text
