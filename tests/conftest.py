"""Fixtures shared by the whole suite."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

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


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A private certificate authority, for servers on 127.0.0.1 that speak TLS."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The private CA's certificate as a PEM file (for SSL_CERT_FILE, tls_ca_file)."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server's TLS context, certified by `ca` for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context
