"""The console channel: a readable block on stdout (the default config's channel)."""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.config.models import ConsoleChannel as ConsoleSettings
from watcher.errors import DeliveryError
from watcher.notify import render
from watcher.notify.base import Channel, Message, Receipt


class ConsoleChannel(Channel):
    def __init__(self, name: str, settings: ConsoleSettings, stream: TextIO | None = None):
        super().__init__(name)
        self.settings = settings
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        # looked up when writing, so a test's captured stdout (or a redirect) is honoured
        return self._stream if self._stream is not None else sys.stdout

    def color(self) -> bool:
        if self.settings.color == "auto":
            isatty = getattr(self.stream, "isatty", None)
            return bool(isatty and isatty())
        return self.settings.color == "always"

    async def send(self, message: Message) -> Receipt:
        try:
            self.stream.write(render.console_block(message, self.color()))
            self.stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe or a closed file
            raise DeliveryError(self.name, f"cannot write to the console: {exc}") from None
        return Receipt("written to the console")
