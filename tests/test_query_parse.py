"""Query syntax: operators, precedence, scopes and errors with their column."""

from __future__ import annotations

import pytest

from watcher.errors import WatcherError
from watcher.query import QuerySyntaxError, parse_query

ALIASES = {"zelenskyy": ["zelensky", "volodymyr zelensky", "Зеленский"], "putin": ["путин"]}


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("istanbul talks", "(istanbul AND talks)"),
        ("istanbul AND talks", "(istanbul AND talks)"),
        ("a OR b", "(a OR b)"),
        # AND binds tighter than OR
        ("a OR b AND c", "(a OR (b AND c))"),
        ("a AND b OR c", "((a AND b) OR c)"),
        ("a b OR c d", "((a AND b) OR (c AND d))"),
        # NOT binds tighter than AND
        ("NOT a AND b", "(NOT a AND b)"),
        ("a NOT b", "(a AND NOT b)"),
        ("a -b", "(a AND NOT b)"),
        ("NOT NOT a", "NOT NOT a"),
        # NEAR binds tightest, even tighter than NOT
        ("NOT a NEAR b", "NOT (a NEAR/10 b)"),
        ("a b NEAR/3 c", "(a AND (b NEAR/3 c))"),
        ("a NEAR/2 b OR c", "((a NEAR/2 b) OR c)"),
        ("a NEAR b NEAR c", "((a NEAR/10 b) NEAR/10 c)"),
        ("(a OR b) NEAR/5 c", "((a OR b) NEAR/5 c)"),
        ("(a OR b) AND c", "((a OR b) AND c)"),
        ("((a))", "a"),
        # terms are put in normal form; a dashed word is a phrase of two words
        ("Türkiye", "turkiye"),
        ("Putin–Zelenskyy", '"putin zelenskyy"'),
        ("“face to face”", '"face to face"'),
        ('"negotiat* talks"', '"negotiat* talks"'),
        ("Negotiat*", "negotiat*"),
        ("встреч*", "встреч*"),
        ("/zelensk(y|yy|iy)/", "/zelensk(y|yy|iy)/"),
        ("@zelenskyy", "@zelenskyy"),
        ("@Zelenskyy", "@zelenskyy"),
        # lower-case operator words are ordinary words
        ("war and peace", "(war AND and AND peace)"),
        ("near", "near"),
    ],
)
def test_parse_gives_the_documented_structure(query: str, canonical: str) -> None:
    """Each form parses to the tree its precedence rules promise (shown fully bracketed)."""
    assert str(parse_query(query, ALIASES)) == canonical


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("title:kremlin", "title:kremlin"),
        ("Title:Kremlin", "title:kremlin"),
        ('feed:"anadolu agency"', 'feed:"anadolu agency"'),
        ("author:smith*", "author:smith*"),
        ("category:world link:bbc", "(category:world AND link:bbc)"),
        ("title:(a OR b)", "(title:a OR title:b)"),
        ("title:(a OR body:b)", "(title:a OR body:b)"),
        ("title:@putin", "title:@putin"),
        ("title:/kreml/", "title:/kreml/"),
        ("title:a NEAR b", "(title:a NEAR/10 b)"),
        ("title: kremlin", "title:kremlin"),
    ],
)
def test_field_scopes_apply_to_the_term_or_group_they_prefix(query: str, canonical: str) -> None:
    """`field:` scopes the next term, phrase, prefix, @group, regex or bracketed group;
    an inner scope wins over an outer one."""
    assert str(parse_query(query, ALIASES)) == canonical


def test_source_is_kept_verbatim() -> None:
    """`Query.source` is the text as written (what error messages and the CLI show)."""
    text = "  Istanbul   AND talks "
    assert parse_query(text).source == text


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("", 1, "empty query"),
        ("   ", 1, "empty query"),
        ("istanbul AND", 13, "expected a term after AND"),
        ("istanbul AND (talks AND)", 24, "expected a term after AND, found ')'"),
        ("istanbul OR", 12, "expected a term after OR"),
        ("a OR OR b", 6, "expected a term after OR, found OR"),
        ("NOT", 4, "expected a term after NOT"),
        ("AND talks", 1, "expected a term before AND"),
        ("OR talks", 1, "expected a term before OR"),
        ("a NEAR", 7, "expected a term after NEAR"),
        ("a NEAR/3 NOT b", 10, "expected a term after NEAR/3, found NOT"),
        ("(a AND b) NEAR c", 1, "NEAR needs a term, phrase, prefix, @group or /regex/"),
        ("a NEAR/5 (b AND c)", 10, "NEAR/5 needs a term"),
        ("a NEAR/x b", 3, "NEAR/ takes a number of words"),
        ("a NEAR/0 b", 3, "NEAR/0 can never match"),
        ("(a OR b", 8, "missing ) to close ( at column 1"),
        ("((a) b", 7, "missing ) to close ( at column 1"),
        ("a OR b)", 7, "unexpected ) without a matching ("),
        ("()", 1, "empty parentheses"),
        ('istanbul "peace talks', 10, "unterminated phrase"),
        ('""', 1, "empty phrase"),
        ("a /zelensk", 3, "unterminated regex"),
        ("/(unclosed/", 2, "invalid regex: missing ), unterminated subpattern"),
        ("x /a*/", 3, "this regex matches empty text"),
        ("@nobody", 1, "unknown alias group @nobody (known groups: putin, zelenskyy)"),
        ("talks AND @", 11, "expected a group name after @"),
        ("headline:kremlin", 1, "unknown field 'headline:'"),
        ("title:", 7, "expected a term after title:"),
        ("a ... b", 3, "... has no letters or digits"),
        ("*", 1, "a prefix needs a letter or digit before *"),
        ("ne*go", 1, "* may only end a word"),
    ],
)
def test_syntax_errors_name_the_column_and_the_problem(
    query: str, column: int, message: str
) -> None:
    """A query that does not parse raises QuerySyntaxError with a 1-based column pointing
    at the offending token (or one past the end) and a message saying what was expected."""
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query, ALIASES)
    assert caught.value.column == column
    assert message in caught.value.message
    assert str(caught.value).startswith(f"column {column}: ")


def test_query_syntax_error_is_a_watcher_error_and_a_value_error() -> None:
    """Callers can catch it as part of the watcher tree or as a plain ValueError."""
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("a AND")
    assert isinstance(caught.value, WatcherError)
    assert isinstance(caught.value, ValueError)


def test_unknown_alias_without_any_configured_groups_says_so() -> None:
    """With no aliases in the config the message does not list an empty set."""
    with pytest.raises(QuerySyntaxError, match="none are configured"):
        parse_query("@putin")


@pytest.mark.parametrize("query", ["(" * 101 + "a" + ")" * 101, "NOT " * 101 + "a"])
def test_absurdly_deep_nesting_is_a_syntax_error_not_a_crash(query: str) -> None:
    """Nesting deeper than 100 levels is refused with a column, instead of exhausting
    the stack; 100 levels still parse."""
    with pytest.raises(QuerySyntaxError, match="nested more than 100 levels"):
        parse_query(query)
    assert parse_query("(" * 100 + "a" + ")" * 100).source


def test_error_column_counts_characters_not_bytes() -> None:
    """Columns count characters, so a Cyrillic or accented query points at the right place."""
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("встреча Türkiye AND")
    assert caught.value.column == len("встреча Türkiye AND") + 1
