"""watcher: a news-monitoring alert daemon.

Polls RSS/Atom/JSON feeds, keeps what is new about watched topics, and alerts once per
real development. See README.md for use and ../shared/DESIGN.md for the contracts.
"""

__version__ = "0.1.0"
