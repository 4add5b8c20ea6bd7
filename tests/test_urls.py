"""canonical_url: one identity per story however the feed decorates its link."""

from __future__ import annotations

import pytest

from watcher.urls import canonical_url, is_tracking_param, resolve_link

CANONICAL = [
    # (input, canonical form, what it pins)
    ("HTTPS://Example.ORG/a?utm_source=x&id=3#frag", "https://example.org/a?id=3", "brief"),
    ("http://example.org", "http://example.org/", "empty path becomes /"),
    ("http://example.org:80/a", "http://example.org/a", "default http port dropped"),
    ("https://example.org:443/a", "https://example.org/a", "default https port dropped"),
    ("https://example.org:8443/a", "https://example.org:8443/a", "other port kept"),
    ("http://example.org:443/a", "http://example.org:443/a", "443 is not http's default"),
    ("https://example.org/Path/CASE", "https://example.org/Path/CASE", "path case kept"),
    ("https://example.org/a#section", "https://example.org/a", "fragment removed"),
    ("https://example.org/#!/story/12", "https://example.org/#!/story/12", "#! route kept"),
    ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1", "param order kept"),
    ("https://example.org/a?utm_source=rss", "https://example.org/a", "no ? left behind"),
    ("https://example.org/a?UTM_Medium=rss&x=1", "https://example.org/a?x=1", "names any case"),
    ("https://example.org/a?x=1&fbclid=abc", "https://example.org/a?x=1", "fbclid"),
    ("https://example.org/a?gclid=1&mc_cid=2&mc_eid=3", "https://example.org/a", "ads, mailchimp"),
    ("https://example.org/a?yclid=1&igshid=2&_ga=3", "https://example.org/a", "yclid, igshid, _ga"),
    (
        "https://www.aljazeera.com/news/2025/5/15/talks?traffic_source=rss",
        "https://www.aljazeera.com/news/2025/5/15/talks",
        "traffic_source (Al Jazeera, in the corpus)",
    ),
    (
        "https://www.cbc.ca/news/world/x-1.7536366?cmp=rss",
        "https://www.cbc.ca/news/world/x-1.7536366",
        "cmp=rss (CBC, in the corpus)",
    ),
    (
        "https://tvn24.pl/swiat/x-st8463043?source=rss",
        "https://tvn24.pl/swiat/x-st8463043",
        "source=rss (TVN24, in the corpus)",
    ),
    (
        "https://wiadomosci.gazeta.pl/w/7,1,3.html?utm_source=RSS&utm_medium=RSS&utm_campaign=1",
        "https://wiadomosci.gazeta.pl/w/7,1,3.html",
        "utm_* triple (gazeta.pl, in the corpus)",
    ),
    (
        "https://www.bbc.co.uk/news/articles/c5y49xp2wrno?at_medium=RSS&at_campaign=rss",
        "https://www.bbc.co.uk/news/articles/c5y49xp2wrno",
        "at_medium/at_campaign (BBC, in the corpus)",
    ),
    (
        "https://www.heise.de/newsticker/meldung/x-4205274.html?wt_mc=rss.ho.beitrag.rdf",
        "https://www.heise.de/newsticker/meldung/x-4205274.html",
        "wt_mc (heise, in the corpus)",
    ),
    ("https://example.org/compare?cmp=a,b", "https://example.org/compare?cmp=a,b", "cmp kept"),
    ("https://example.org/a?source=reuters", "https://example.org/a?source=reuters", "source"),
    ("https://example.org/a?id=3&&x=", "https://example.org/a?id=3&x=", "empty pieces dropped"),
    ("https://example.org/a?q=a%20b&utm_x=1", "https://example.org/a?q=a%20b", "escapes kept"),
    ("https://User@Example.org/", "https://User@example.org/", "userinfo kept as is"),
    ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a", "IPv6 host"),
    ("  https://example.org/a \n", "https://example.org/a", "surrounding whitespace"),
    ("/relative/path?utm_source=x", "/relative/path", "relative link still cleaned"),
    ("http://[::1/a", "http://[::1/a", "unparsable: returned as is"),
    ("", "", "empty string"),
]


@pytest.mark.parametrize(
    ("url", "expected"), [c[:2] for c in CANONICAL], ids=[c[2] for c in CANONICAL]
)
def test_canonical_url(url: str, expected: str) -> None:
    """Each row: the canonical identity form of a link."""
    assert canonical_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), [c[:2] for c in CANONICAL])
def test_canonical_url_is_idempotent(url: str, expected: str) -> None:
    """Canonicalizing twice changes nothing (a stored key stays comparable)."""
    assert canonical_url(canonical_url(url)) == canonical_url(url)


@pytest.mark.parametrize(
    ("name", "value", "tracking"),
    [
        ("utm_campaign", "x", True),
        ("cmp", "RSS", True),
        ("cmp", "spring-sale", False),
        ("ref", "feed", True),
        ("ref", "main", False),
        ("id", "rss", False),
    ],
)
def test_is_tracking_param(name: str, value: str, tracking: bool) -> None:
    """Generic names count as tracking only when the value just says 'from the feed'."""
    assert is_tracking_param(name, value) is tracking


@pytest.mark.parametrize(
    ("link", "base", "expected"),
    [
        ("/a/b", "https://example.org/feed.xml", "https://example.org/a/b"),
        ("b", "https://example.org/news/feed.xml", "https://example.org/news/b"),
        ("//cdn.example.org/x", "https://example.org/", "https://cdn.example.org/x"),
        ("https://other.org/x", "https://example.org/", "https://other.org/x"),
        ("  https://other.org/x\n", "", "https://other.org/x"),
        ("/a", "", "/a"),
        ("javascript:alert(1)", "https://example.org/", None),
        ("data:text/html,hi", "", None),
        ("mailto:desk@example.org", "", None),
        ("", "https://example.org/", None),
        (None, "https://example.org/", None),
    ],
)
def test_resolve_link(link: str | None, base: str, expected: str | None) -> None:
    """Links are resolved against the feed URL; only web links are kept for display."""
    assert resolve_link(link, base) == expected
