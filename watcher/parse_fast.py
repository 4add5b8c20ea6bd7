"""A fast reader for plain RSS 2.0 and Atom 1.0 documents, giving what feedparser gives.

feedparser is the parser of record (parse_xml), but it is pure Python and builds every
element through a dozen method calls: on a first poll of thousands of feeds it is most
of the CPU. Most news feeds are the plain kind: well-formed UTF-8, RSS 2.0 or Atom 1.0,
a handful of well-known elements per item. For those, `read_plain` builds the tree with
ElementTree's C parser (the same expat underneath) and reads the fields directly, in a
fraction of the time.

It is a shortcut, never a second opinion: the result must be exactly the RawFeed that
parse_xml would make from feedparser's output. So it accepts only documents whose every
item element it knows feedparser's handling of, and answers None (feedparser then
parses the document) for anything else: another format, version or encoding, a DOCTYPE,
xml:base, markup inside a text element, XHTML content, an element it does not know in an
item, an e-mail style author, C1 control characters (feedparser maps them to cp1252
punctuation), a link feedparser would rewrite... test_parse_fast.py compares both
readers on every file of the shared corpus where this one answers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from feedparser.datetimes import _parse_date

from watcher.rawfeed import RawEntry, RawFeed, plain_text, ttl_seconds, unique, utc_datetime
from watcher.text import html_to_paragraphs
from watcher.urls import resolve_link

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"

# Item elements feedparser turns into nothing this reader's result holds, or only into
# fields it reads here. Anything else in an item sends the document to feedparser.
_EMPTY_IGNORED = frozenset({"enclosure", f"{MEDIA}content", f"{MEDIA}thumbnail"})
_TEXT_IGNORED = frozenset(
    {
        "comments",
        f"{ATOM}rights",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
        "{com-wordpress:feed-additions:1}post-id",
        f"{MEDIA}credit",
    }
)
_RSS_FIELDS = frozenset({"title", "link", "guid", "pubDate", f"{DC}creator", f"{ATOM}updated"})
_ATOM_TEXT_TYPES = {None: "text/plain", "text": "text/plain", "html": "text/html"}

# What would make feedparser's strings differ from the element's text: C1 controls (it
# maps them to cp1252 punctuation), written raw or as character references.
_C1 = re.compile(r"[\x80-\x9f]")
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]|&#(?:[xX]0*[89][0-9a-fA-F]|0*1[2-5][0-9]);")
# A URI feedparser rewrites ("http:///x" loses slashes) before joining it to its base,
# and what it rewrites in links and attributes ("&amp;" and "&name;" lose their ";").
_URI_FIXED = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*://(?:/|$)")
_REFERENCE_LIKE = re.compile(r"&[A-Za-z0-9_]+;")
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF8 = frozenset({"utf-8", "utf8"})
_DOCTYPE = re.compile(rb"<!doctype", re.IGNORECASE)
# A namespace URI with spaces around it, which feedparser's SAX parser refuses.
_SPACED_NAMESPACE = re.compile(rb"""xmlns(?::[\w.-]+)?\s*=\s*(?:"\s|'\s|"[^"]*\s"|'[^']*\s')""")
# Author strings feedparser takes apart (e-mail addresses, parentheses, brackets).
_AUTHOR_PARSED = re.compile(r"[@()<>&]")
# Local names feedparser files under the feed's own fields, whatever their namespace.
_TAKEN_FOR_FEED_FIELDS = frozenset({"title", "link", "entry", "item", "id", "guid"})


class _Decline(Exception):
    """Not a document this reader is sure to read as feedparser does."""


def read_plain(body: bytes, *, url: str, charset: str | None) -> RawFeed | None:
    """The RawFeed parse_xml would make of `body`, or None to let feedparser parse it.

    `body` has passed parse_xml's checks (entities, character references) and
    `charset` is the one parse_xml determined (RFC 7303).
    """
    if not _plain_bytes(body, charset):
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None  # not well-formed: feedparser's loose parser may still read it
    try:
        if root.tag == "rss" and root.get("version") == "2.0":
            return _rss(root, url)
        if root.tag == f"{ATOM}feed":
            return _atom(root, url)
    except _Decline:
        return None
    return None


def _plain_bytes(body: bytes, charset: str | None) -> bool:
    if charset is not None and charset not in _UTF8:
        return False
    declared = _DECLARATION.match(body)
    if declared is not None and declared.group(1).decode().lower() not in _UTF8:
        return False
    # a DOCTYPE anywhere (its entities are feedparser's business), or xml:base
    if _DOCTYPE.search(body) or b"xml:base" in body:
        return False
    if _C1_BYTES.search(body) or _SPACED_NAMESPACE.search(body):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _result(title: str | None, link: str | None, entries: list[RawEntry], url: str,
            fmt: str, ttl: float | None) -> RawFeed:  # fmt: skip
    return RawFeed(
        title=plain_text(title) or None,
        link=resolve_link(link or "", url),
        entries=entries,
        warnings=[],
        ttl_seconds=ttl,
        extra={"format": fmt, "encoding": "utf-8"},
    )


# -- RSS 2.0 ------------------------------------------------------------------------------


def _rss(root: ET.Element, url: str) -> RawFeed:
    channels = [child for child in root if child.tag == "channel"]
    if len(channels) != 1 or any(child.tag == "item" for child in root):
        raise _Decline
    channel = channels[0]
    title = link = None
    fields: dict[str, str] = {}
    entries: list[RawEntry] = []
    for child in channel:
        tag = child.tag
        if tag == "item":
            entries.append(_rss_item(child, url))
        elif tag in ("title", "link", "ttl", f"{SY}updatePeriod", f"{SY}updateFrequency"):
            if tag in fields:
                raise _Decline
            fields[tag] = _text(child)
        elif tag == f"{ATOM}link":
            if _attribute(child, "rel", "alternate") not in ("self", "hub", "next", "previous"):
                raise _Decline
            if not _attribute(child, "href"):
                raise _Decline
        elif tag.startswith(ATOM) or _local(tag) in _TAKEN_FOR_FEED_FIELDS:
            raise _Decline  # dc:title, an <entry>...: feedparser reads them as its own
    title = fields.get("title")
    link = fields.get("link")
    if link is not None:
        link = _link_text(link)
    ttl = ttl_seconds(fields.get("ttl"), fields.get(f"{SY}updatePeriod"),
                      fields.get(f"{SY}updateFrequency"))  # fmt: skip
    return _result(title, link, entries, url, "rss20", ttl)


def _rss_item(item: ET.Element, url: str) -> RawEntry:
    values: dict[str, str] = {}
    guid_is_link = False
    summary: str | None = None
    contents: list[tuple[str, str]] = []  # (type, value), in document order
    categories: list[str] = []
    for child in item:
        tag = child.tag
        if _ignored(child):
            continue
        if tag == "category":
            categories.append(_text(child))
            continue
        if tag == f"{ATOM}link":
            if _atom_link(child) is not None:
                raise _Decline  # an alternate link replaces <link> in feedparser
            continue
        if tag in ("description", f"{MEDIA}description"):  # the same to feedparser
            if summary is not None or contents:
                raise _Decline  # feedparser files it as content then
            summary = _text(child)
            continue
        if tag == f"{CONTENT}encoded":
            if summary is None and contents:
                raise _Decline
            contents.append(("text/html", _text(child)))
            continue
        if tag not in _RSS_FIELDS or tag in values:
            raise _Decline
        if tag == "link" and child.attrib:
            raise _Decline  # feedparser takes a url/uri/href attribute for the link
        values[tag] = _text(child)
        if tag == "guid":
            guid_is_link = _attribute(child, "ispermalink", "true") == "true"
    guid = values.get("guid")
    link = values.get("link")
    if guid is not None and guid_is_link:
        guid = _uri(guid)
        if link is None:
            link = guid
    if link is not None:
        link = _link_text(link)
    author = values.get(f"{DC}creator")
    if author is not None and _AUTHOR_PARSED.search(author):
        raise _Decline  # feedparser's e-mail parsing of author strings
    return _entry(
        guid=guid,
        title=values.get("title"),
        link=link,
        published=values.get("pubDate"),
        updated=values.get(f"{ATOM}updated"),
        author=author,
        categories=categories,
        contents=contents,
        summary=summary,
        url=url,
    )


# -- Atom 1.0 -----------------------------------------------------------------------------


def _atom(root: ET.Element, url: str) -> RawFeed:
    title: str | None = None
    link: str | None = None
    feed_id: str | None = None
    entries: list[RawEntry] = []
    for child in root:
        tag = child.tag
        if tag == f"{ATOM}entry":
            entries.append(_atom_entry(child, url))
        elif tag == f"{ATOM}title":
            if title is not None:
                raise _Decline
            title = _atom_text(child)[1]
        elif tag == f"{ATOM}link":
            link = _alternate(child, link)
        elif tag == f"{ATOM}id":
            feed_id = _text(child)
        elif _local(tag) in _TAKEN_FOR_FEED_FIELDS:
            raise _Decline  # an <item> in an Atom feed, dc:title...: feedparser's own
    if link is None and feed_id is not None:
        link = _uri(feed_id)  # as in entries: an id stands in for a missing link
    return _result(title, link, entries, url, "atom10", None)


def _atom_entry(entry: ET.Element, url: str) -> RawEntry:
    values: dict[str, str] = {}
    link: str | None = None
    summary: str | None = None
    contents: list[tuple[str, str]] = []
    categories: list[str] = []
    author: str | None = None
    for child in entry:
        tag = child.tag
        if _ignored(child):
            continue
        if tag == f"{ATOM}link":
            link = _alternate(child, link)
        elif tag == f"{ATOM}category":
            if len(child) or (child.text or "").strip():
                raise _Decline
            categories.append(_attribute(child, "term") or _attribute(child, "label") or "")
        elif tag == f"{ATOM}author":
            if author is not None:
                raise _Decline
            author = _atom_author(child)
        elif tag == f"{ATOM}summary":
            if summary is not None or contents:
                raise _Decline
            summary = _atom_text(child)[1]
        elif tag == f"{ATOM}content":
            if contents or child.get("src") is not None:
                raise _Decline
            contents.append(_atom_text(child))
        elif tag in (f"{ATOM}id", f"{ATOM}published", f"{ATOM}updated") and tag not in values:
            values[tag] = _text(child)
        elif tag == f"{ATOM}title" and tag not in values:
            values[tag] = _atom_text(child)[1]
        else:
            raise _Decline
    guid = values.get(f"{ATOM}id")
    if guid is not None:
        guid = _uri(guid)
        if link is None:
            link = guid  # feedparser: an id is a permalink unless said otherwise
    return _entry(
        guid=guid,
        title=values.get(f"{ATOM}title"),
        link=link,
        published=values.get(f"{ATOM}published"),
        updated=values.get(f"{ATOM}updated"),
        author=author,
        categories=categories,
        contents=contents,
        summary=summary,
        url=url,
    )


def _atom_text(element: ET.Element) -> tuple[str, str]:
    """(feedparser's content type, text) of an Atom text construct without markup."""
    kind = _ATOM_TEXT_TYPES.get(_attribute(element, "type"))
    if kind is None or _attribute(element, "mode") is not None:
        raise _Decline  # xhtml, base64, a media type: feedparser's own handling
    return kind, _text(element)


def _atom_link(element: ET.Element) -> str | None:
    """The href of an alternate HTML link (the entry's link), else None."""
    rel = _attribute(element, "rel", "alternate")
    kind = _attribute(element, "type", "text/html")
    href = _attribute(element, "href")
    if not href or _attribute(element, "url") or _attribute(element, "uri"):
        raise _Decline  # no href: feedparser takes the element's text, or another attribute
    if rel != "alternate":
        return None
    if kind not in ("text/html", "application/xhtml+xml", "html"):
        raise _Decline
    return _uri(href)


def _alternate(element: ET.Element, current: str | None) -> str | None:
    """`current`, or the alternate link `element` gives; a second one declines (which of
    two feedparser keeps is its own business)."""
    href = _atom_link(element)
    if href is None:
        return current
    if current is not None:
        raise _Decline
    return href


def _atom_author(element: ET.Element) -> str | None:
    name: str | None = None
    for child in element:
        if child.tag == f"{ATOM}name" and name is None:
            name = _text(child)
        elif child.tag not in (f"{ATOM}email", f"{ATOM}uri"):
            raise _Decline
    if (element.text or "").strip() or name is None or _AUTHOR_PARSED.search(name):
        raise _Decline
    return name


# -- shared -------------------------------------------------------------------------------


def _text(element: ET.Element) -> str:
    """The text of an element that holds no markup, stripped as feedparser strips it."""
    if len(element):
        raise _Decline  # inline markup: feedparser rebuilds it as text
    text = element.text or ""
    if _C1.search(text):
        raise _Decline
    return text.strip()


def _uri(value: str) -> str:
    if _URI_FIXED.match(value):
        raise _Decline
    return value


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _link_text(value: str) -> str:
    if _REFERENCE_LIKE.search(value):
        raise _Decline
    return _uri(value)


def _attribute(element: ET.Element, name: str, default: str | None = None) -> str | None:
    """An attribute as feedparser sees it: any case of its name; rel and type values in
    lower case (anything it would rewrite declines)."""
    for key, value in element.attrib.items():
        if key.lower() == name:
            if _REFERENCE_LIKE.search(value):
                raise _Decline
            return value.lower() if name in ("rel", "type") else value
    return default


def _ignored(element: ET.Element) -> bool:
    """An element feedparser keeps apart from every field read here."""
    if element.tag in _EMPTY_IGNORED:
        if len(element) or (element.text or "").strip():
            raise _Decline
        return True
    if element.tag in _TEXT_IGNORED:
        if len(element):
            raise _Decline
        return True
    return False


def _entry(
    *,
    guid: str | None,
    title: str | None,
    link: str | None,
    published: str | None,
    updated: str | None,
    author: str | None,
    categories: list[str],
    contents: list[tuple[str, str]],
    summary: str | None,
    url: str,
) -> RawEntry:
    if summary is None and contents:
        summary = contents[0][1]  # feedparser copies the first content into the summary
    return RawEntry(
        guid=(guid or "").strip() or None,
        title=plain_text(title),
        link=resolve_link(link or "", url),
        published=_date(published),
        updated=_date(updated),
        author=plain_text(author) or None,
        categories=unique([plain_text(c) for c in categories]),
        paragraphs=_paragraphs(contents, summary),
    )


def _paragraphs(contents: list[tuple[str, str]], summary: str | None) -> list[str]:
    """As parse_xml._paragraphs: the longest HTML content, else any content, else the
    summary."""
    usable = [(kind, value) for kind, value in contents if value.strip()]
    html = [c for c in usable if c[0] == "text/html"]
    best = max(html or usable, key=lambda c: len(c[1]), default=None)
    if best is not None:
        paragraphs = html_to_paragraphs(best[1])
        if paragraphs:
            return paragraphs
    return html_to_paragraphs(summary or "")


def _date(value: str | None) -> datetime | None:
    return utc_datetime(_parse_date(value)) if value else None
