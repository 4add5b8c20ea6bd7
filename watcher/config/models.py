"""The validated shape of config.yaml (DESIGN.md "Configuration").

Every model forbids unknown keys, so a typo is an error rather than a silently ignored
setting. Durations are stored as seconds (float) and sizes as bytes (int).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from watcher.units import parse_duration, parse_size

Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


def _interval_floor(value: float) -> float:
    if value < 1:
        raise ValueError("an interval must be at least 1s (and 5m or more is polite)")
    return value


Interval = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_interval_floor)]


def _auto_or_interval(value: object) -> object:
    """`auto` (learn from the feed's publish history) or a duration of 1s or more."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return _interval_floor(parse_duration(value))  # type: ignore[arg-type]


AutoInterval = Annotated[float | Literal["auto"], BeforeValidator(_auto_or_interval)]


def _stale_after(value: object) -> object:
    """`auto`, `off` (YAML may read it as false) or a duration."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return "off"
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    seconds = parse_duration(value)  # type: ignore[arg-type]
    if seconds <= 0:
        raise ValueError("expected auto, off or a duration above 0s")
    return seconds


def parse_listen(value: object) -> tuple[str, int]:
    """(host, port) from `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` or a bare port."""
    if isinstance(value, int) and not isinstance(value, bool):
        host, port_text = "127.0.0.1", str(value)
    else:
        text = str(value).strip()
        match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([^\s:\[\]]+):(\d+)|(\d+)", text)
        if not match:
            raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9464, got {value!r}")
        host = match.group(1) or match.group(3) or "127.0.0.1"
        port_text = match.group(2) or match.group(4) or match.group(5)
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range (1-65535)")
    return host, port


_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return value


class Defaults(Strict):
    """Per-feed settings that apply unless a feed overrides them."""

    interval: AutoInterval = 600.0  # or `auto`: learned from when the feed publishes
    min_interval: Interval = 120.0  # `auto` never polls more often than this
    max_interval: Interval = 3600.0  # no hint (ttl, max-age) or learned interval goes past it
    timeout: Duration = 30.0
    max_bytes: Size = 10_000_000

    @model_validator(mode="after")
    def _bounds(self) -> Defaults:
        if self.min_interval > self.max_interval:
            raise ValueError("`min_interval` must not be longer than `max_interval`")
        return self


class FeedSource(Strict):
    """One entry of `feeds:`: a feed URL, or an OPML file listing feeds."""

    url: str | None = None
    opml: str | None = None
    name: str | None = None
    interval: AutoInterval | None = None
    min_interval: Interval | None = None
    max_interval: Interval | None = None
    timeout: Duration | None = None
    max_bytes: Size | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FeedSource:
        if (self.url is None) == (self.opml is None):
            raise ValueError("each feed needs exactly one of `url:` or `opml:`")
        return self


class Topic(Strict):
    name: Annotated[str, BeforeValidator(_identifier)]
    title: str | None = None
    query: str
    channels: list[str] = Field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.title or self.name


class SmtpSettings(Strict):
    host: str
    port: int | None = None
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: Duration = 30.0
    tls_ca_file: str | None = None  # PEM bundle to trust instead of the system's CAs

    @model_validator(mode="after")
    def _no_cleartext_login(self) -> SmtpSettings:
        if self.username is not None and self.security == "none":
            raise ValueError(
                "refusing to send an SMTP password unencrypted: "
                "use `security: starttls` or `security: tls`"
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"none": 25, "starttls": 587, "tls": 465}[self.security]


class ChannelBase(Strict):
    digest: Duration | None = None  # gather alerts and send one message per period
    max_per_hour: int | None = Field(default=None, ge=1)  # alerts; the overflow waits

    @field_validator("digest")
    @classmethod
    def _digest_floor(cls, value: float | None) -> float | None:
        if value is not None and value < 60:
            raise ValueError("a digest period below 1m is no digest; use 1m or more")
        return value


class EmailChannel(ChannelBase):
    type: Literal["email"]
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    smtp: SmtpSettings
    subject_prefix: str = "[watcher]"

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    url: str
    format: Literal["json", "slack", "discord", "ntfy"] = "json"
    secret: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 15.0


class ConsoleChannel(ChannelBase):
    type: Literal["console"]
    color: Literal["auto", "always", "never"] = "auto"


class AppriseChannel(ChannelBase):
    """Any service Apprise knows (`pip install watcher[apprise]`); URLs hold credentials."""

    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


Channel = Annotated[
    EmailChannel | WebhookChannel | ConsoleChannel | AppriseChannel, Field(discriminator="type")
]


class DeliveryConfig(Strict):
    """Retries of a failing channel: exponential backoff from `backoff` up to `max_backoff`;
    after `max_attempts` failed attempts an alert is `dead` (visible in `watcher alerts`)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff: Duration = 30.0
    max_backoff: Duration = 3600.0

    @model_validator(mode="after")
    def _ordered(self) -> DeliveryConfig:
        if self.backoff <= 0:
            raise ValueError("`backoff` must be above 0s")
        if self.max_backoff < self.backoff:
            raise ValueError("`max_backoff` must not be shorter than `backoff`")
        return self


class DedupConfig(Strict):
    min_words: int = Field(default=8, ge=1)
    republish_threshold: float = Field(default=0.8, gt=0, le=1)
    # estimated Jaccard of word pairs: 0.5 catches two words changed in a 20-word paragraph
    near_duplicate_threshold: float = Field(default=0.5, gt=0, le=1)
    retention: Duration = 30 * 86400.0


class HealthConfig(Strict):
    """Feed health alerts (watcher/health.py): failing, stale, moved, gone, recovered."""

    failures: int = Field(default=5, ge=1, le=1000)  # failed polls in a row before alerting
    stale_after: Annotated[float | Literal["auto", "off"], BeforeValidator(_stale_after)] = "auto"
    stale_floor: Duration = 6 * 3600.0  # `auto` never calls a silence shorter than this stale
    channels: list[str] = Field(default_factory=list)


class MetricsConfig(Strict):
    """The optional HTTP listener serving /healthz and /metrics (off unless configured)."""

    listen: str

    @field_validator("listen", mode="before")
    @classmethod
    def _address(cls, value: object) -> str:
        host, port = parse_listen(value)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


class Settings(Strict):
    """The whole config file, validated. `feeds` holds OPML entries expanded to URLs."""

    database: str = "var/watcher.db"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    user_agent: str | None = None
    # 32: 2,000 feeds answering in 100 ms each are re-polled in 9 s (16: 16 s); each
    # fetch waits on the network, not on the CPU
    max_concurrency: int = Field(default=32, ge=1, le=512)
    per_host_concurrency: int = Field(default=4, ge=1, le=64)
    defaults: Defaults = Field(default_factory=Defaults)
    backfill: Duration = 86400.0
    feeds: list[FeedSource] = Field(default_factory=list)
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    topics: list[Topic] = Field(default_factory=list)
    channels: dict[str, Channel] = Field(default_factory=dict)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    metrics: MetricsConfig | None = None

    @field_validator("aliases", mode="before")
    @classmethod
    def _alias_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                str(k): [str(s) for s in (v if isinstance(v, list) else [v])]
                for k, v in value.items()
            }
        return value
