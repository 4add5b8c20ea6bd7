"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import FeedServer, make_gzip_bomb

GZIP_BOMB_SIZE = 100 * 1024 * 1024


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh programmable HTTP server on 127.0.0.1, stopped (promptly) after the test."""
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """gzip of 100 MiB of zeros (~100 kB on the wire), compressed once per session."""
    return make_gzip_bomb(GZIP_BOMB_SIZE)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: never route that through a proxy from the environment."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
