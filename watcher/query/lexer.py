"""Cut a topic query into tokens, each with the 1-based column it starts at.

The lexer knows the surface syntax only: words (with an optional field prefix and a
trailing `*`), quoted phrases, `/regex/`, `@group`, parentheses and the upper-case
operators `AND`, `OR`, `NOT`, `NEAR`, `NEAR/n` (and `-word` as a short `NOT word`).
Lower-case `and`/`or`/`not`/`near` are ordinary words, so they can be searched for.
What the words mean is the parser's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from watcher.errors import WatcherError

#: Field scopes a term may carry (`title:kremlin`). `body` is the paragraphs only; an
#: unscoped term searches title and body.
FIELDS = ("title", "body", "feed", "author", "category", "link")

#: Opening and closing quotes of a phrase: straight and typographic, as pasted from a page.
QUOTES = frozenset('"“”„«»')

DEFAULT_NEAR = 10

_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_WORD_END = frozenset("()") | QUOTES


class QuerySyntaxError(WatcherError, ValueError):
    """A topic query that cannot be read; `column` (1-based) points at the problem.

    The config loader turns it into `topics[1].query: column 17: expected a term after AND`.
    """

    def __init__(self, column: int, message: str):
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")


class Kind(Enum):
    WORD = "word"
    PHRASE = "phrase"
    REGEX = "regex"
    ALIAS = "alias"
    FIELD = "field"
    LPAREN = "("
    RPAREN = ")"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    NEAR = "NEAR"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme. `value` is the raw text (word, phrase body, regex, group or field name);
    `distance` is set for NEAR."""

    kind: Kind
    value: str
    column: int
    distance: int = 0

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind in (Kind.AND, Kind.OR, Kind.NOT, Kind.NEAR):
            return self.value
        if self.kind in (Kind.LPAREN, Kind.RPAREN):
            return f"'{self.value}'"
        return repr(self.value)


def tokenize_query(text: str) -> list[Token]:
    """The tokens of `text`, or QuerySyntaxError at the first one that cannot be read."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(Token(Kind.LPAREN, c, col))
            i += 1
        elif c == ")":
            tokens.append(Token(Kind.RPAREN, c, col))
            i += 1
        elif c in QUOTES:
            end = _find_closing_quote(text, i + 1)
            if end < 0:
                raise QuerySyntaxError(col, "unterminated phrase: missing closing quote")
            tokens.append(Token(Kind.PHRASE, text[i + 1 : end], col))
            i = end + 1
        elif c == "/":
            pattern, i = _read_regex(text, i)
            tokens.append(Token(Kind.REGEX, pattern, col))
        elif c == "@":
            j = _word_end(text, i + 1)
            if j == i + 1:
                raise QuerySyntaxError(col, "expected a group name after @")
            tokens.append(Token(Kind.ALIAS, text[i + 1 : j], col))
            i = j
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in ")-":
            tokens.append(Token(Kind.NOT, "-", col))
            i += 1
        else:
            j = _word_end(text, i)
            word = text[i:j]
            field = _FIELD_PREFIX.match(word)
            if field:
                name = field.group(1).lower()
                if name not in FIELDS:
                    raise QuerySyntaxError(
                        col,
                        f"unknown field '{field.group(1)}:' (fields: {', '.join(FIELDS)});"
                        " quote the text to search for it literally",
                    )
                tokens.append(Token(Kind.FIELD, name, col))
                i += field.end()
                continue
            tokens.append(_word_token(word, col))
            i = j
    return tokens


def _word_token(word: str, col: int) -> Token:
    if word in ("AND", "OR", "NOT"):
        return Token(Kind[word], word, col)
    if word == "NEAR":
        return Token(Kind.NEAR, word, col, DEFAULT_NEAR)
    if word.startswith("NEAR/"):
        number = word[5:]
        if not number.isascii() or not number.isdigit():
            raise QuerySyntaxError(col, f"{word}: NEAR/ takes a number of words, like NEAR/10")
        distance = int(number)
        if distance < 1:
            raise QuerySyntaxError(col, "NEAR/0 can never match: the distance must be at least 1")
        return Token(Kind.NEAR, word, col, distance)
    return Token(Kind.WORD, word, col)


def _word_end(text: str, i: int) -> int:
    n = len(text)
    while i < n and not text[i].isspace() and text[i] not in _WORD_END:
        i += 1
    return i


def _find_closing_quote(text: str, i: int) -> int:
    for j in range(i, len(text)):
        if text[j] in QUOTES:
            return j
    return -1


def _read_regex(text: str, start: int) -> tuple[str, int]:
    """The pattern between `/` and the next unescaped `/` (`\\/` stands for `/`)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("/" if nxt == "/" else c + nxt)
            i += 2
            continue
        if c == "/":
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise QuerySyntaxError(start + 1, "unterminated regex: missing closing /")
