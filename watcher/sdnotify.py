"""systemd's notification protocol (sd_notify) in a dozen lines of socket code.

With `Type=notify`, systemd waits for READY=1 before it considers the service started,
reads STATUS= for `systemctl status`, and with `WatchdogSec=` restarts the service when
WATCHDOG=1 stops arriving. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self._address = address or None
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_interval = (
            int(watchdog_usec) / 1_000_000 / 2 if watchdog_usec.isdigit() else None
        )
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *lines: str) -> None:
        """Send `KEY=value` lines; failures are logged once and never raised."""
        if self._address is None:
            return
        message = "\n".join(lines).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            # Never block the event loop: a full socket buffer drops this one message.
            self._socket.sendto(message, socket.MSG_DONTWAIT, self._address)
        except BlockingIOError:
            log.debug("systemd notification socket is full; dropped %r", message)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address, exc)
            self._address = None

    def ready(self, status: str = "") -> None:
        self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def reloading(self, monotonic_usec: int) -> None:
        self.notify("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
