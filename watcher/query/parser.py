"""Recursive-descent parser from tokens to the query tree.

Grammar, loosest first (so NEAR binds tightest, then NOT, then AND, then OR):

    query    := or_expr
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr ([AND] not_expr)*        two operands side by side mean AND
    not_expr := (NOT | -) not_expr | near_expr
    near     := primary (NEAR[/n] primary)*       each side positional
    primary  := ( or_expr ) | field: primary | word | word* | "phrase" | /regex/ | @group

Words are put in normal form with `watcher.text.tokenize`, so a word that normalizes to
several tokens ("Putin–Zelenskyy") is a phrase. Every error carries the 1-based column
of the token where reading failed (or one past the end of the query).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from watcher.query.lexer import Kind, QuerySyntaxError, Token, tokenize_query
from watcher.query.nodes import Alias, And, Near, Node, Not, Or, Pattern, Regex, required_literal
from watcher.text import normalize, tokenize

_OPERAND_START = frozenset(
    {Kind.WORD, Kind.PHRASE, Kind.REGEX, Kind.ALIAS, Kind.FIELD, Kind.LPAREN, Kind.NOT}
)
_PRIMARY_START = _OPERAND_START - {Kind.NOT}
MAX_DEPTH = 100


def parse(text: str, aliases: Mapping[str, Sequence[str]]) -> Node:
    """The tree of `text`, or QuerySyntaxError naming the column of the problem."""
    return _Parser(text, aliases).parse()


def parse_words(text: str, label: str, column: int) -> Pattern:
    """A word, prefix or phrase: each whitespace-separated word may end in `*`."""
    parts: list[tuple[str, bool]] = []
    for word in text.split():
        prefix = word.endswith("*")
        stem = word.rstrip("*")
        if "*" in stem:
            raise QuerySyntaxError(column, f"{label}: * may only end a word (a prefix)")
        tokens = tokenize(stem)
        if prefix and not tokens:
            raise QuerySyntaxError(column, f"{label}: a prefix needs a letter or digit before *")
        parts.extend((t, False) for t in tokens)
        if prefix:
            parts[-1] = (parts[-1][0], True)
    if not parts:
        raise QuerySyntaxError(column, f"{label} has no letters or digits to search for")
    return Pattern(tuple(parts), label)


def resolve_alias(
    name: str, aliases: Mapping[str, Sequence[str]], column: int
) -> tuple[str, list[str]]:
    """The group `name` refers to and its spellings, the group's own name first.

    Group names are compared in normal form, so `@Zelenskyy` finds `zelenskyy`."""
    key = name if name in aliases else None
    if key is None:
        wanted = normalize(name)
        key = next((k for k in aliases if normalize(k) == wanted), None)
    if key is None:
        known = ", ".join(sorted(aliases)) or "none are configured"
        raise QuerySyntaxError(column, f"unknown alias group @{name} (known groups: {known})")
    return key, [key, *aliases[key]]


class _Parser:
    def __init__(self, text: str, aliases: Mapping[str, Sequence[str]]):
        self.text = text
        self.aliases = aliases
        self.tokens = tokenize_query(text)
        self.i = 0
        self.depth = 0

    # -- token stream ---------------------------------------------------------------------

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def here(self) -> int:
        """Column of the next token, or one past the end."""
        token = self.peek()
        return token.column if token else len(self.text) + 1

    def need_operand(self, after: str, starts: frozenset[Kind] = _OPERAND_START) -> None:
        token = self.peek()
        if token is None or token.kind not in starts:
            found = f", found {token.describe()}" if token else ""
            raise QuerySyntaxError(self.here(), f"expected a term after {after}{found}")

    # -- grammar --------------------------------------------------------------------------

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError(1, "empty query")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            if token.kind is Kind.RPAREN:
                raise QuerySyntaxError(token.column, "unexpected ) without a matching (")
            raise QuerySyntaxError(token.column, f"unexpected {token.describe()}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind is Kind.OR:
            self.take()
            self.need_operand("OR")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while (token := self.peek()) is not None:
            if token.kind is Kind.AND:
                self.take()
                self.need_operand("AND")
            elif token.kind not in _OPERAND_START:
                break
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        token = self.peek()
        if token is not None and token.kind is Kind.NOT:
            self.take()
            self.need_operand(token.value)
            self.enter(token)
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.near_expr()

    def enter(self, token: Token) -> None:
        """Count one level of nesting; a query nested deeper than MAX_DEPTH is refused
        (it would only exhaust the stack)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(token.column, f"nested more than {MAX_DEPTH} levels deep")

    def near_expr(self) -> Node:
        left_column = self.here()
        left = self.primary()
        while (token := self.peek()) is not None and token.kind is Kind.NEAR:
            self.take()
            self.need_operand(token.value, _PRIMARY_START)
            right_column = self.here()
            right = self.primary()
            for side, column in ((left, left_column), (right, right_column)):
                if not side.positional:
                    raise QuerySyntaxError(
                        column,
                        f"{token.value} needs a term, phrase, prefix, @group or /regex/ on "
                        "each side (or an OR of them in parentheses)",
                    )
            left = Near(left, right, token.distance)
        return left

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError(self.here(), "expected a term at the end of the query")
        kind = token.kind
        if kind is Kind.LPAREN:
            self.take()
            if (inner := self.peek()) is not None and inner.kind is Kind.RPAREN:
                raise QuerySyntaxError(token.column, "empty parentheses")
            self.need_operand("(")
            self.enter(token)
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind is not Kind.RPAREN:
                found = f", found {close.describe()}" if close else ""
                raise QuerySyntaxError(
                    self.here(), f"missing ) to close ( at column {token.column}{found}"
                )
            self.take()
            return node
        if kind is Kind.FIELD:
            self.take()
            self.need_operand(f"{token.value}:", _PRIMARY_START - {Kind.FIELD})
            return self.primary().with_scope(token.value)
        self.take()
        if kind is Kind.WORD:
            return parse_words(token.value, token.value, token.column)
        if kind is Kind.PHRASE:
            if not token.value.strip():
                raise QuerySyntaxError(token.column, "empty phrase")
            return parse_words(token.value, f'"{token.value}"', token.column)
        if kind is Kind.REGEX:
            return self.regex(token)
        if kind is Kind.ALIAS:
            return self.alias(token)
        if kind is Kind.RPAREN:
            raise QuerySyntaxError(token.column, "unexpected ) without a matching (")
        raise QuerySyntaxError(token.column, f"expected a term before {token.describe()}")

    def regex(self, token: Token) -> Regex:
        if not token.value:
            raise QuerySyntaxError(token.column, "empty regex //")
        try:
            compiled = re.compile(token.value, re.IGNORECASE)
        except re.error as exc:
            column = token.column + 1 + (exc.pos or 0)
            raise QuerySyntaxError(column, f"invalid regex: {exc.msg}") from None
        if compiled.fullmatch(""):
            raise QuerySyntaxError(
                token.column, "this regex matches empty text, so it would match every item"
            )
        return Regex(
            token.value, compiled, f"/{token.value}/", literal=required_literal(token.value)
        )

    def alias(self, token: Token) -> Alias:
        key, spellings = resolve_alias(token.value, self.aliases, token.column)
        label = f"@{token.value}"
        seen: set[tuple[tuple[str, bool], ...]] = set()
        alternatives = []
        for spelling in spellings:
            try:
                pattern = parse_words(str(spelling), label, token.column)
            except QuerySyntaxError:
                continue  # a spelling with no letters cannot match anything; skip it
            if pattern.parts not in seen:
                seen.add(pattern.parts)
                alternatives.append(pattern)
        if not alternatives:
            raise QuerySyntaxError(
                token.column, f"alias group @{key} has no spelling to search for"
            )
        return Alias(key, tuple(alternatives), label)
