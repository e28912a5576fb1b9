"""One SQLite index serves every scalar index entry, instead of one identical index per MongoDB index.

mongoeco's SQLite engine keeps a row per indexed value in ``scalar_index_entries`` and creates, for
each single-field MongoDB index, its own SQLite index ``scidx_<hash>`` over that whole table, all
with the same columns (``collection_id, index_name, ...``; lookups name the index in their
``WHERE``). With the shop's 26 such indexes, each product insert wrote its 6 entries into 26 copies
of the same B-tree: most of an insert's cost, growing with the table (and 126 of the 147 MB the
demo catalog took). The statements that create, use and drop those indexes are rewritten on their
way to SQLite to create, use and keep one, ``scidx_shared``; files made before drop their copies
when opened.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from devstack.mongoeco_compat.changes import after_connect

SHARED = "scidx_shared"
_COLUMNS = "(collection_id, index_name, type_score, element_key, storage_key)"
_NAME = r'"scidx_[0-9a-f]{16}"'
_CREATE = re.compile(rf"^\s*CREATE INDEX (IF NOT EXISTS )?{_NAME} ON scalar_index_entries {re.escape(_COLUMNS)}\s*$")
_DROP = re.compile(rf"^\s*DROP INDEX IF EXISTS {_NAME}\s*$")
_USE = re.compile(rf"INDEXED BY {_NAME}")
_NOTHING = "SELECT 1 WHERE 0"


def rewrite(sql: str) -> str:
    """The statement as it runs with one shared index (unchanged when it names none)."""
    if "scidx_" not in sql:
        return sql
    if _CREATE.match(sql):
        return f'CREATE INDEX IF NOT EXISTS "{SHARED}" ON scalar_index_entries {_COLUMNS}'
    if _DROP.match(sql):
        return _NOTHING  # the shared index stays: other MongoDB indexes use it
    return _USE.sub(f'INDEXED BY "{SHARED}"', sql)


def drop_copies(connection: sqlite3.Connection) -> int:
    """Drop the per-index copies an older file has (the shared index serves them); how many."""
    copies = [
        name
        for (name,) in sqlite3.Connection.execute(
            connection, "SELECT name FROM sqlite_master WHERE type = 'index' AND name GLOB 'scidx_*'"
        )
        if name != SHARED
    ]
    if copies and not connection.in_transaction:
        sqlite3.Connection.execute(
            connection, f'CREATE INDEX IF NOT EXISTS "{SHARED}" ON scalar_index_entries {_COLUMNS}'
        )
        for name in copies:
            sqlite3.Connection.execute(connection, f'DROP INDEX IF EXISTS "{name}"')
        return len(copies)
    return 0


def install() -> None:
    from mongoeco.engines._sqlite_connection import SQLiteConnection

    def execute(self: sqlite3.Connection, sql: str, *args: Any) -> sqlite3.Cursor:
        return sqlite3.Connection.execute(self, rewrite(sql), *args)

    def executemany(self: sqlite3.Connection, sql: str, *args: Any) -> sqlite3.Cursor:
        return sqlite3.Connection.executemany(self, rewrite(sql), *args)

    SQLiteConnection.execute = execute
    SQLiteConnection.executemany = executemany
    after_connect(lambda engine: drop_copies(engine._connection))
