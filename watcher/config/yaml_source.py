"""YAML to plain Python values, remembering the line of every key and list entry.

pydantic validates plain values but knows nothing of lines; this loader keeps a map from
each value's path (("feeds", 1, "url")) to its line so every error can say `FILE:LINE`.
`${NAME}` (or `${NAME:-default}`) in a string is replaced from the environment here, at the
one place where the line is still known.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from watcher.errors import ConfigIssue

Path_ = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class SourceMap:
    """Lines of the values in one YAML file, by path."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    from_env: set[Path_] = field(default_factory=set)  # values that came from ${...}

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its closest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def issue(self, path: Path_, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line_of(path), format_path(path), message)


def format_path(path: Path_) -> str:
    """("feeds", 1, "url") -> "feeds[1].url"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _substitute_env(
    text: str, path: Path_, source: SourceMap, environ: Mapping[str, str], issues: list[ConfigIssue]
) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        issues.append(source.issue(path, f"environment variable {name} is not set"))
        return ""

    if "${" not in text:
        return text
    source.from_env.add(path)
    return _ENV_REF.sub(replace, text)


def _scalar(node: yaml.Node) -> Any:
    """A scalar typed by PyYAML's safe resolver (int, bool, null, str...)."""
    return yaml.SafeLoader.construct_object(_CONSTRUCTOR, node, deep=True)


_CONSTRUCTOR = yaml.SafeLoader("")


def _to_python(
    node: yaml.Node,
    path: Path_,
    source: SourceMap,
    environ: Mapping[str, str],
    issues: list[ConfigIssue],
) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node)) if isinstance(key_node, yaml.ScalarNode) else "?"
            child = (*path, key)
            source.lines[child] = key_node.start_mark.line + 1
            if key in out:
                issues.append(source.issue(child, f"key {key!r} appears twice"))
            out[key] = _to_python(value_node, child, source, environ, issues)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = (*path, index)
            source.lines[child] = item_node.start_mark.line + 1
            items.append(_to_python(item_node, child, source, environ, issues))
        return items
    value = _scalar(node)
    if isinstance(value, str):
        value = _substitute_env(value, path, source, environ, issues)
    return value


# libyaml's parser, where PyYAML was built with it: ten times faster on a config of
# thousands of feeds, with the same nodes and line marks.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> yaml.Node | None:
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass  # reported below in the pure-Python parser's words, as always
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_yaml(
    text: str, file: str, environ: Mapping[str, str] | None = None
) -> tuple[Any, SourceMap, list[ConfigIssue]]:
    """Parse YAML text into plain values plus their lines; syntax errors become issues."""
    source = SourceMap(file)
    issues: list[ConfigIssue] = []
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}, {problem}"
        return None, source, [ConfigIssue(file, line, "", f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, source, [ConfigIssue(file, None, "", f"invalid YAML: {exc}")]
    if node is None:
        return {}, source, issues
    source.lines[()] = node.start_mark.line + 1
    value = _to_python(node, (), source, os.environ if environ is None else environ, issues)
    return value, source, issues
