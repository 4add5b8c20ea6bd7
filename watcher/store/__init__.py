"""SQLite persistence: one file, WAL, versioned migrations.

Modules: `db` opens and migrates; `migrations` holds the schema history; `feeds` and
`items` hold the queries for their tables. Pure logic never imports this package.
"""

from watcher.store.db import open_database

__all__ = ["open_database"]
