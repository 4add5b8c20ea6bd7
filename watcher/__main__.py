"""`python -m watcher` is the same as the `watcher` console script."""

from watcher.cli import entry

entry()
