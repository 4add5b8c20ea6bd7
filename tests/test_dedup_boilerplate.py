"""Lines outlets repeat on every item are recognized; real sentences are not."""

from __future__ import annotations

import pytest

from watcher.dedup import boilerplate_reason


@pytest.mark.parametrize(
    "line",
    [
        "Photo: AFP",
        "PHOTO — Reuters/Gleb Garanich",
        "Image by Jane Doe/AFP via Getty Images",
        "Related news",
        "Read more",
        "Continue reading...",
        "READ ALSO:",
        "© 2025 Example News. All rights reserved.",
        "Copyright 2025 The Associated Press. All rights reserved.",
        "The post Putin open to talks appeared first on The Caspian Post.",
        "This article was originally published on Example News.",
        "Advertisement",
        "Follow us on Telegram",
        "…",
        "[...]",
    ],
)
def test_boilerplate_lines_are_recognized(line):
    assert boilerplate_reason(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        "Video shows Russian troops entering the town",
        "The lawsuit alleges copyright infringement by the company.",
        "Putin said talks would resume.",
        "Read more about the memorandum in the Kremlin statement published on Friday, "
        "which sets out the conditions for a ceasefire in detail.",
        "Source of the leak remains unknown, officials said.",
    ],
)
def test_content_is_not_boilerplate(line):
    assert boilerplate_reason(line) is None
