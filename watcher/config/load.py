"""Reading config.yaml into `Config`: every problem reported at once, with its line.

The result also carries the feed list with OPML expanded and defaults applied, because
that is what the scheduler and `watcher check` need.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from watcher.config.models import FeedSource, Settings
from watcher.config.opml import read_opml
from watcher.config.yaml_source import Path_, SourceMap, load_yaml
from watcher.errors import ConfigError, ConfigIssue
from watcher.units import format_duration

AUTO_START = 600.0  # `interval: auto` starts here (within the feed's bounds) until it learns


@dataclass(frozen=True)
class FeedSpec:
    """One feed to poll, with the defaults already applied."""

    url: str
    name: str | None
    interval: float  # the fixed interval; with `auto`, where learning starts
    timeout: float
    max_bytes: int
    auto: bool = False  # `interval: auto`: learned from the feed's publish history
    min_interval: float = 120.0
    max_interval: float = 3600.0


@dataclass(frozen=True)
class Config:
    """A loaded, valid configuration and where it came from."""

    path: Path
    settings: Settings
    feeds: tuple[FeedSpec, ...]
    queries: Mapping[str, Any]  # topic name -> compiled watcher.query.Query

    @property
    def database_path(self) -> str:
        return self.settings.database


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(m) for m in typing.get_args(annotation) if m is not type(None)]
    return [annotation]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class validating the value at `loc` (to suggest its keys).

    pydantic's loc includes the tag of a discriminated union (`channels.desk.email.smtp`):
    a part that names a union member's `type` selects that member.
    """
    current: Any = Settings
    for part in loc:
        members = _union_members(_unwrap(current))
        tagged = [
            m
            for m in members
            if isinstance(m, type)
            and issubclass(m, BaseModel)
            and "type" in m.model_fields
            and part in typing.get_args(m.model_fields["type"].annotation)
        ]
        if tagged:
            current = tagged[0]
            continue
        if len(members) != 1:
            return None
        current = members[0]
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or name: f for name, f in current.model_fields.items()}
            field = fields.get(str(part)) or current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif origin is list:
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    members = _union_members(_unwrap(current))
    model = members[0] if len(members) == 1 else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _source_path(loc: tuple[Any, ...], source: SourceMap) -> tuple[Path_, tuple[Any, ...]]:
    """The input path for a pydantic `loc`, dropping union tags that are not keys."""
    path: list[str | int] = []
    model_loc: list[Any] = []
    for position, part in enumerate(loc):
        candidate = (*path, part)
        last = position == len(loc) - 1
        if candidate in source.lines or last:
            path.append(part)
        model_loc.append(part)
    return tuple(path), tuple(model_loc)


def _issues_from_validation(exc: ValidationError, source: SourceMap) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path, model_loc = _source_path(loc, source)
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key {key!r}"
            model = _model_at(model_loc[:-1])
            if model is not None:
                close = difflib.get_close_matches(key, _known_keys(model), n=1, cutoff=0.6)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
                else:
                    message += f"; expected one of: {', '.join(_known_keys(model))}"
        elif kind == "missing":
            message = f"required key {str(loc[-1])!r} is missing"
            path = path[:-1]
            issues.append(source.issue(path, message) if path else source.issue((), message))
            continue
        elif kind == "union_tag_invalid":
            message = (
                f"unknown type {error['ctx']['tag']!r}; expected one of "
                f"{error['ctx']['expected_tags']}"
            )
        elif kind == "union_tag_not_found":
            message = "missing `type:` (email, webhook or console)"
        else:
            message = error["msg"].removeprefix("Value error, ")
        issues.append(source.issue(path, message))
    return issues


def _expand_feeds(
    settings: Settings, source: SourceMap, base_dir: Path, issues: list[ConfigIssue]
) -> list[FeedSpec]:
    defaults = settings.defaults
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}

    def add(entry: FeedSource, url: str, name: str | None, index: int) -> None:
        key = url.strip()
        if key in seen:
            issues.append(
                source.issue(
                    ("feeds", index), f"feed {key} is listed twice (also feeds[{seen[key]}])"
                )
            )
            return
        seen[key] = index
        interval = entry.interval or defaults.interval
        low = entry.min_interval or defaults.min_interval
        high = entry.max_interval or defaults.max_interval
        if low > high:
            issues.append(
                source.issue(
                    ("feeds", index),
                    f"min_interval ({format_duration(low)}) is longer than max_interval"
                    f" ({format_duration(high)})",
                )
            )
            return
        auto = interval == "auto"
        specs.append(
            FeedSpec(
                url=key,
                name=name,
                interval=min(max(AUTO_START, low), high) if auto else float(interval),
                timeout=entry.timeout or defaults.timeout,
                max_bytes=entry.max_bytes or defaults.max_bytes,
                auto=auto,
                min_interval=low,
                max_interval=high,
            )
        )

    for index, entry in enumerate(settings.feeds):
        if entry.url is not None:
            add(entry, entry.url, entry.name, index)
            continue
        assert entry.opml is not None
        opml_path = (base_dir / entry.opml).resolve()
        try:
            outlines = read_opml(opml_path)
        except (OSError, ValueError) as exc:
            issues.append(source.issue(("feeds", index, "opml"), str(exc)))
            continue
        for outline in outlines:
            add(entry, outline.url, entry.name or outline.title, index)
    return specs


def _no_such_channel(channel: str, channel_names: list[str]) -> str:
    message = f"no channel named {channel!r}"
    close = difflib.get_close_matches(channel, channel_names, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    elif channel_names:
        message += f"; channels are: {', '.join(channel_names)}"
    else:
        message += "; define it under `channels:`"
    return message


def _check_health(settings: Settings, source: SourceMap, issues: list[ConfigIssue]) -> None:
    """Every channel under `health.channels` must exist."""
    channel_names = list(settings.channels)
    for position, channel in enumerate(settings.health.channels):
        if channel not in settings.channels:
            issues.append(
                source.issue(
                    ("health", "channels", position), _no_such_channel(channel, channel_names)
                )
            )


def _check_topics(settings: Settings, source: SourceMap, issues: list[ConfigIssue]) -> dict:
    from watcher.query import QuerySyntaxError, parse_query

    queries: dict[str, Any] = {}
    names: dict[str, int] = {}
    channel_names = list(settings.channels)
    for index, topic in enumerate(settings.topics):
        if topic.name in names:
            issues.append(
                source.issue(
                    ("topics", index, "name"),
                    f"topic {topic.name!r} is defined twice (also topics[{names[topic.name]}])",
                )
            )
        names[topic.name] = index
        for position, channel in enumerate(topic.channels):
            if channel not in settings.channels:
                message = _no_such_channel(channel, channel_names)
                issues.append(source.issue(("topics", index, "channels", position), message))
        try:
            queries[topic.name] = parse_query(topic.query, settings.aliases)
        except QuerySyntaxError as exc:
            issues.append(
                source.issue(("topics", index, "query"), f"column {exc.column}: {exc.message}")
            )
    return queries


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config at `path`; raise ConfigError listing every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(file), None, "", f"cannot read: {exc}")]) from exc
    data, source, issues = load_yaml(text, str(file), environ)
    if data is None and issues:
        raise ConfigError(issues)
    if not isinstance(data, dict):
        raise ConfigError([*issues, source.issue((), "expected a mapping of settings at the top")])
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        issues.extend(_issues_from_validation(exc, source))
        raise ConfigError(sorted(issues, key=lambda i: i.line or 0)) from None
    feeds = _expand_feeds(settings, source, file.resolve().parent, issues)
    queries = _check_topics(settings, source, issues)
    _check_health(settings, source, issues)
    if issues:
        raise ConfigError(sorted(issues, key=lambda i: i.line or 0))
    return Config(path=file, settings=settings, feeds=tuple(feeds), queries=queries)
