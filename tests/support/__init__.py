"""Helpers shared by tests: real local servers and the data they serve."""

from tests.support.feed_server import (
    FeedServer,
    RecordedRequest,
    Route,
    make_gzip_bomb,
    unused_port,
)

__all__ = ["FeedServer", "RecordedRequest", "Route", "make_gzip_bomb", "unused_port"]
