"""Lines an outlet puts on every item: never new content, never shown in an alert.

Judged on the normal form (so "PHOTO: AFP", "Photo — AFP" and "photo: afp" are one
line) and only for short paragraphs: a long paragraph that happens to start with
"Read more" is content. Anything whose normal form is empty ("…", "[...]", "* * *")
is boilerplate too.
"""

from __future__ import annotations

import re

from watcher.text import normalize

_CREDIT_WORDS = (
    r"(?:file |main |top |cover |header |featured |lead )?"
    r"(?:photo|photos|photograph|image|images|picture|pictures|pic|video|illustration|graphic"
    r"|infographic|credit|credits|source|sources|foto|фото|источник|джерело)"
)
# "Photo: AFP", "Image by Jane Doe/Reuters", "Video — Anadolu", "Photo (illustrative)":
# the credit word followed by a separator or "by"/"courtesy", checked on the raw text.
_CREDIT_RAW = re.compile(
    r"\W*" + _CREDIT_WORDS + r"\s*(?::|/|\||-|–|—|\(|by\b|courtesy\b|credit\b|©)",
    re.IGNORECASE,
)
_CREDIT_ALONE = re.compile(_CREDIT_WORDS)
_CREDIT_TRAIL = re.compile(
    r".* (?:getty images|afp via getty images|via getty images|shutterstock)"
)

# (reason, pattern on the normal form, most words the whole line may have)
_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "link to more",
        re.compile(
            r"(?:related|related news|related articles?|related stories|related content"
            r"|related coverage|related posts?|more|more news|more on this|more on this story"
            r"|read more|read also|also read|see also|read next|read the full (?:story|article)"
            r"|full (?:story|article)|continue reading|keep reading|click here(?: .*)?"
            r"|view gallery|watch|watch video|listen|listen to this article"
            r"|recommended|most read|trending|top stories|latest news|editor s picks"
            r"|читайте также|по теме|читайте також)"
        ),
        6,
    ),
    (
        "share or follow prompt",
        re.compile(
            r"(?:share|share this|share this (?:article|story|post)|share on .*"
            r"|follow us(?: on)? .*|subscribe to (?:our|the) .*|sign up (?:for|to) (?:our|the) .*"
            r"|download (?:our|the) app.*|get the app|advertisement|advertising|sponsored"
            r"|sponsored content|comments?|leave a comment|print|email|tweet)"
        ),
        12,
    ),
    (
        "copyright line",
        re.compile(r"(?:copyright .*|.* all rights reserved.*)"),
        20,
    ),
    (
        "feed footer",
        re.compile(
            r"(?:the post .* appeared first on .*|this (?:article|story|post) (?:was )?"
            r"(?:originally |first )?(?:published|appeared) (?:on|in|at|by) .*"
            r"|the original article .*|source link|originally published (?:on|in|at|by) .*)"
        ),
        40,
    ),
)
_COPYRIGHT_SIGN = re.compile(r"\s*(?:©|\(c\)\s*\d|℗)", re.IGNORECASE)


def boilerplate_reason(text: str, normal: str | None = None) -> str | None:
    """Why `text` is boilerplate ("credit line", "link to more"...), or None if it is not."""
    if normal is None:
        normal = normalize(text)
    if not normal:
        return "no words"
    words = normal.count(" ") + 1
    if words <= 8 and (
        _CREDIT_RAW.match(text)
        or _CREDIT_ALONE.fullmatch(normal)
        or _CREDIT_TRAIL.fullmatch(normal)
    ):
        return "credit line"
    if words <= 20 and _COPYRIGHT_SIGN.match(text):
        return "copyright line"
    for reason, pattern, max_words in _RULES:
        if words <= max_words and pattern.fullmatch(normal):
            return reason
    return None
