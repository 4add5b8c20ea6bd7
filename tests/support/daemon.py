"""Run `watcher run` as a real subprocess, with a NOTIFY_SOCKET listener like systemd's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "ALL_PROXY")  # fmt: skip


class NotifyListener:
    """The receiving end of sd_notify: a datagram socket collecting KEY=value messages."""

    def __init__(self, directory: Path):
        self.path = directory / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.1)
        self.messages: list[str] = []

    def drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                return
            self.messages.extend(data.decode().splitlines())

    def wait_for(self, line: str, timeout: float = 15.0, after: int = 0) -> int:
        """Wait until `line` arrives (at index >= after); return its index."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            for index in range(after, len(self.messages)):
                if self.messages[index] == line:
                    return index
        raise AssertionError(f"no {line!r} within {timeout}s; got {self.messages}")

    def close(self) -> None:
        self.sock.close()


class Daemon:
    """A `watcher run` subprocess; stderr goes to a log file the test can read."""

    def __init__(self, config: Path, workdir: Path, notify: NotifyListener | None = None):
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["PYTHONPATH"] = str(REPO)
        env["NO_PROXY"] = "*"
        if notify is not None:
            env["NOTIFY_SOCKET"] = str(notify.path)
            env["WATCHDOG_USEC"] = "2000000"
        self.log_path = workdir / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    @property
    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait(5)
        self._log.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
