"""One exception tree for everything watcher raises on purpose.

    WatcherError
    ├── ConfigError (ValueError)      the YAML file or a query in it is wrong; exit 2
    ├── QuerySyntaxError (ValueError) a topic query does not parse (watcher.query.lexer)
    ├── FetchError                    one poll of one feed failed; the feed backs off
    │   ├── FetchTimeout (TimeoutError)
    │   ├── ResponseTooLarge
    │   ├── TooManyRedirects
    │   └── HTTPStatusError           carries status and Retry-After
    ├── ParseError (ValueError)       a body that is no feed at all
    ├── StoreError                    the database cannot be used (locked, newer schema)
    └── DeliveryError                 a channel refused or failed an alert
        └── PermanentDeliveryError    retrying cannot help (SMTP 5xx, HTTP 4xx)

Each error names what it is about (a feed URL, a channel, a file and line) so the
message alone tells the user where to look.
"""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Base of every error watcher raises deliberately."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as precisely as the source allows."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(WatcherError, ValueError):
    """The configuration is invalid; carries every problem found, not just the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class FetchError(WatcherError):
    """A feed could not be fetched this time; the reason is in the message."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchTimeout(FetchError, TimeoutError):
    """The server was too slow (connect, read, or the whole-fetch deadline)."""


class ResponseTooLarge(FetchError):
    """The body (after decompression) went past max_bytes; reading stopped there."""


class TooManyRedirects(FetchError):
    """Redirects went on past the limit, or came back to a URL already visited."""


class HTTPStatusError(FetchError):
    """The server answered with a status that yields no feed."""

    def __init__(self, url: str, status: int, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        reason = f"HTTP {status}"
        if retry_after is not None:
            reason += f" (Retry-After {retry_after:.0f}s)"
        super().__init__(url, reason)


class ParseError(WatcherError, ValueError):
    """The body is not a feed watcher can read."""


class StoreError(WatcherError):
    """The database cannot be opened or used."""


class DeliveryError(WatcherError):
    """A channel failed to deliver an alert; it will be retried."""

    def __init__(self, channel: str, reason: str, retry_after: float | None = None):
        self.channel = channel
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(f"channel {channel}: {reason}")


class PermanentDeliveryError(DeliveryError):
    """The channel refused the alert in a way retrying cannot fix."""
