"""RSS 0.9x/1.0/2.0 and Atom through feedparser, guarded against hostile documents.

feedparser 6.0.x reads almost anything, but three of its habits are unsafe with bytes
from the network, so this module does some work before and around it:

* Given `bytes`, feedparser first tries them as a *file name* (and a `str` as a URL to
  fetch). The body is always handed over wrapped in `io.BytesIO`.
* It strips the DOCTYPE and re-declares the entities it deems safe, and when expat then
  rejects the document its loose fallback parser expands those entities without any
  limit: one 100 kB entity referenced 3,000 times became 300 M characters (890 MB, 13 s).
  Expat >= 2.4 stops nested "billion laughs" itself, but not that. So entity declarations
  are checked first: nested, parameter or external entities, or a total expansion over
  MAX_ENTITY_EXPANSION, make the body a ParseError ("an XML entity bomb costs one failed
  poll"). External entities are never resolved in any case (expat's default).
* A surrogate or out-of-range numeric character reference (`&#55357;`, `&#x110000;`)
  makes it raise instead of setting bozo. Surrogate pairs are joined into the character
  they encode, anything else invalid becomes U+FFFD, before parsing.

Character sets follow RFC 7303, which replaced the RFC 3023 rules feedparser applies:
a byte-order mark wins, then the charset of the HTTP content type, then the XML
declaration, then UTF-8; a `text/xml` without charset no longer means US-ASCII.
"""

from __future__ import annotations

import codecs
import io
import re
import xml.sax
from typing import Any

import feedparser

from watcher.errors import ParseError
from watcher.parse_fast import read_plain
from watcher.rawfeed import RawEntry, RawFeed, plain_text, ttl_seconds, unique, utc_datetime
from watcher.text import html_to_paragraphs
from watcher.urls import resolve_link

MAX_ENTITY_DECLARATIONS = 64
MAX_ENTITY_EXPANSION = 1_000_000  # characters that all entity references together may add

# Root elements of the formats feedparser reads: RSS 0.9x/2.0, Atom, RSS 0.90/1.0 (RDF),
# and CDF's CHANNEL. Lower-cased local names.
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_CHARSETS = ("utf16", "utf32", "ucs2", "ucs4", "unicode")  # compared without - and _
_EBCDIC_START = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC (cp037)
# Charsets servers declare by default; a body that is valid UTF-8 despite them is UTF-8.
_DEFAULT_CHARSETS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252"})

_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_:][\w.:-]*)")
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_NAME = rb"[A-Za-z_:][\w.:-]*"
_EXTERNAL_PARAM_ENTITY = re.compile(rb"<!ENTITY\s+%\s*" + _NAME + rb"\s+(?:SYSTEM|PUBLIC)\s")
_PARAM_ENTITY = re.compile(rb"<!ENTITY\s+%")
_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+" + _NAME + rb"\s+(?:SYSTEM|PUBLIC)\s")
_INTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+(" + _NAME + rb""")\s+(?:"([^"]*)"|'([^']*)')\s*>""")
_CHARREF_VALUE = re.compile(rb"&#(?:[0-9]{1,7}|x[0-9A-Fa-f]{1,6});")
# A character reference that may be a surrogate or beyond U+10FFFF (a cheap superset test,
# so the common case - only valid references - costs one regex scan and no Python calls).
_SUSPECT_CHARREF = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{5,})"
    rb"|0*(?:5[5-7][0-9]{3}|[1-9][0-9]{6,}));"
)
# A numeric character reference; group 2 peeks at a reference right after it (a UTF-16 pair).
_CHARREFS = re.compile(rb"&#([xX][0-9A-Fa-f]+|[0-9]+);(?:(?=&#([xX][0-9A-Fa-f]+|[0-9]+);))?")

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def read_xml(body: bytes, *, url: str = "", content_type: str | None = None) -> RawFeed:
    """Entries of an RSS/Atom document; ParseError if it is not a feed or is hostile."""
    warnings: list[str] = []
    body, charset = _to_ascii_compatible(body, _declared_charset(content_type), warnings)
    check_entities(body)
    body = fix_charrefs(body)
    plain = read_plain(body, url=url, charset=charset)
    if plain is not None:  # a plain RSS 2.0 or Atom 1.0 document: as feedparser, faster
        plain.warnings[:0] = warnings
        return plain
    headers = {
        "content-type": f"application/xml; charset={charset}" if charset else "application/xml"
    }
    # No content-location: feedparser would resolve a guid like "4711" against it, so an
    # item's identity would change with the feed's address. Links are resolved below.
    # Neither resolve_relative_uris nor sanitize_html: both rewrite the HTML inside
    # titles and content (href/src attributes; unsafe elements and attributes), and only
    # the text of that HTML is kept (html_to_paragraphs skips what the sanitizer drops
    # whole: script, style, applet). Alerts carry that text, escaped wherever it is put
    # in HTML, so no markup from a feed ever reaches a reader. Together the two halve
    # feedparser's time on news feeds; on the 2,963 files of the shared corpus the items
    # are the same but for 9 of feedparser's own hostile-markup tests (test_corpus.py).
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception as exc:  # feedparser has known crashes on odd input; never let one out
        raise ParseError(f"feed parser failed: {type(exc).__name__}: {exc}"[:200]) from exc
    # Plain dicts from here on: FeedParserDict.get("updated_parsed") silently answers with
    # published_parsed (and a DeprecationWarning) when the entry has no update date.
    result = dict(result)
    version = result.get("version") or ""
    entries = result.get("entries") or []
    root = _root_name(body)
    if not version and not entries and root not in _FEED_ROOTS:
        raise ParseError(_not_a_feed(root, result.get("bozo_exception")))
    if result.get("bozo") and result.get("bozo_exception") is not None:
        warnings.append(_describe(result["bozo_exception"]))
    feed = dict(result.get("feed") or {})
    extra = {"format": version or root}
    if result.get("encoding"):
        extra["encoding"] = str(result["encoding"])
    return RawFeed(
        title=plain_text(feed.get("title")) or None,
        link=resolve_link(_string(feed.get("link")), url),
        entries=[_entry(dict(entry), url) for entry in entries if isinstance(entry, dict)],
        warnings=warnings,
        ttl_seconds=ttl_seconds(
            feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")
        ),
        extra=extra,
    )


def check_entities(body: bytes) -> None:
    """Raise ParseError unless every entity the prolog declares is harmless.

    Harmless: an internal general entity whose value is plain text or a single character
    reference, so nothing nests; an external *parameter* entity (the old "include the
    HTML Latin-1 entities" idiom), which nothing here ever fetches. The references to
    the internal ones may add at most MAX_ENTITY_EXPANSION characters in all.
    """
    first = _FIRST_ELEMENT.search(body)
    prolog = body[: first.start()] if first else body
    if b"<!" not in prolog:
        return
    rest = body[len(prolog) :]
    declarations = _COMMENT.sub(b"", prolog)
    starts = [m.start() for m in _ENTITY_DECL.finditer(declarations)]
    if len(starts) > MAX_ENTITY_DECLARATIONS:
        raise ParseError(f"document declares {len(starts)} XML entities; refused")
    expansion = 0
    for start in starts:
        if _EXTERNAL_PARAM_ENTITY.match(declarations, start):
            continue
        if _PARAM_ENTITY.match(declarations, start):
            raise ParseError("document declares an XML parameter entity; refused")
        if _EXTERNAL_ENTITY.match(declarations, start):
            raise ParseError("document declares an external XML entity; refused")
        match = _INTERNAL_ENTITY.match(declarations, start)
        if match is None:
            raise ParseError("document has an XML entity declaration that cannot be checked")
        name, value = match.group(1), match.group(2) or match.group(3) or b""
        if re.search(rb"[&%<]", value) and not _CHARREF_VALUE.fullmatch(value):
            raise ParseError("document declares nested XML entities (an entity bomb); refused")
        expansion += max(len(value), 1) * rest.count(b"&" + name + b";")
    if expansion > MAX_ENTITY_EXPANSION:
        raise ParseError(f"XML entities would expand to {expansion:,} characters; refused")


def fix_charrefs(body: bytes) -> bytes:
    """Numeric character references made valid: UTF-16 pairs joined, the rest U+FFFD.

    `&#55357;&#56832;` (an emoji written by UTF-16 software) becomes `&#128512;`; a lone
    surrogate or a number beyond U+10FFFF becomes `&#xFFFD;`. Valid ones are untouched.
    """
    if _SUSPECT_CHARREF.search(body) is None:
        return body
    folded = False  # the previous reference was a high surrogate that took this one along

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal folded
        if folded:
            folded = False
            return b""
        ref, following = match.group(1), match.group(2)
        high = _codepoint(ref)
        if following is not None and 0xD800 <= high <= 0xDBFF:
            low = _codepoint(following)
            if 0xDC00 <= low <= 0xDFFF:
                folded = True
                return b"&#%d;" % (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return _valid_charref(high, ref)

    return _CHARREFS.sub(replace, body)


def _codepoint(ref: bytes) -> int:
    is_hex = ref[:1] in (b"x", b"X")
    digits = (ref[1:] if is_hex else ref).lstrip(b"0") or b"0"
    if len(digits) > 8:  # far beyond U+10FFFF; also keeps int() away from huge strings
        return -1
    return int(digits, 16) if is_hex else int(digits)


def _valid_charref(codepoint: int, ref: bytes) -> bytes:
    if 0 < codepoint <= 0x10FFFF and not 0xD800 <= codepoint <= 0xDFFF:
        return b"&#" + ref + b";"
    return b"&#xFFFD;"


def _declared_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            value = value.strip().strip("\"'").strip().lower()
            return value or None
    return None


def _to_ascii_compatible(
    body: bytes, charset: str | None, warnings: list[str]
) -> tuple[bytes, str | None]:
    """The body in an encoding where markup is ASCII, so it can be checked as bytes.

    UTF-16/32 (with or without a byte-order mark) and EBCDIC are transcoded to UTF-8; a
    byte-order mark overrides the HTTP charset (RFC 7303). Returns the charset to declare.
    """
    encoding = _wide_encoding(body)
    if encoding is not None:
        for bom, _ in _BOMS:
            if body.startswith(bom):
                body = body[len(bom) :]
                break
        if encoding == "utf-8":
            return body, "utf-8"
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            text = body.decode(encoding, errors="replace")
            warnings.append(f"invalid {encoding} byte sequences replaced")
        return text.encode("utf-8"), "utf-8"
    if charset and charset.replace("-", "").replace("_", "").startswith(_WIDE_CHARSETS):
        warnings.append(f"document declared as {charset}, but it is not")
        return body, None
    if charset in _DEFAULT_CHARSETS and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return body, charset
        warnings.append(f"document declared as {charset}, but parsed as utf-8")
        return body, "utf-8"
    return body, charset


def _wide_encoding(body: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding
    head = body[:4]
    if len(head) < 4:
        return None
    if head == b"\x00\x00\x00<":
        return "utf-32-be"
    if head == b"<\x00\x00\x00":
        return "utf-32-le"
    if head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    if head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if head == _EBCDIC_START:
        return "cp037"
    return None


def _root_name(body: bytes) -> str:
    match = _FIRST_ELEMENT.search(body)
    if match is None:
        return ""
    return match.group(1).decode("ascii", "replace").rpartition(":")[2].lower()


def _not_a_feed(root: str, exc: object) -> str:
    if root == "html":
        return "not a feed: an HTML page"
    if root:
        return f"not a feed: the document is <{root}>"
    if exc is not None:
        return f"not a feed: {_describe(exc)}"
    return "not a feed"


def _describe(exc: object) -> str:
    """A short, one-line reason from a feedparser bozo exception."""
    if isinstance(exc, xml.sax.SAXParseException):
        text = f"not well-formed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]


def _entry(entry: dict[str, Any], url: str) -> RawEntry:
    guid = _string(entry.get("id"))
    return RawEntry(
        guid=guid.strip() or None,
        title=plain_text(entry.get("title")),
        link=resolve_link(_string(entry.get("link")), url),
        published=utc_datetime(entry.get("published_parsed")),
        updated=utc_datetime(entry.get("updated_parsed")),
        author=_author(entry),
        categories=unique([plain_text(_tag_text(tag)) for tag in entry.get("tags") or []]),
        paragraphs=_paragraphs(entry),
    )


def _paragraphs(entry: dict[str, Any]) -> list[str]:
    """The content's paragraphs (its HTML, longest version), else the summary's."""
    contents = [
        c
        for c in entry.get("content") or []
        if isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"].strip()
    ]
    html = [c for c in contents if c.get("type") in _HTML_TYPES]
    best = max(html or contents, key=lambda c: len(c["value"]), default=None)
    if best is not None:
        paragraphs = html_to_paragraphs(best["value"])
        if paragraphs:
            return paragraphs
    return html_to_paragraphs(_string(entry.get("summary")))


def _author(entry: dict[str, Any]) -> str | None:
    names = [
        plain_text(author.get("name"))
        for author in entry.get("authors") or []
        if isinstance(author, dict)
    ]
    return ", ".join(unique(names)) or plain_text(entry.get("author")) or None


def _tag_text(tag: object) -> str:
    if not isinstance(tag, dict):
        return ""
    return _string(tag.get("term")) or _string(tag.get("label"))


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
