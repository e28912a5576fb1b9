"""Opening a SQLite file rewrites only the scalar index entries that are wrong.

On every start mongoeco's SQLite engine deletes and rebuilds every scalar index entry (a row per
indexed value, in a table with one SQLite index per MongoDB index): 11 s for 5,000 products, most
of a restart. Entries are written in the same transaction as their document, so after a clean stop
or a kill -9 they are already right. Here the rebuild still computes every entry (mongoeco's own
code), but its DELETE and INSERTs are collected and only the difference is written: the table ends
exactly as after the full rebuild.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import defaultdict
from typing import Any

_CLEAR = "DELETE FROM scalar_index_entries WHERE collection_id = ?"
_FILL = "INSERT OR IGNORE INTO scalar_index_entries ("
_COLUMNS = "collection_id, index_name, storage_key, element_type, type_score, element_key"


def _normalized(sql: str) -> str:
    return " ".join(sql.split())


class _CollectingConnection:
    """The connection the rebuild sees: every statement runs but clearing and filling the entries."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.cleared: list[int] = []
        self.rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        if _normalized(sql) == _CLEAR:
            self.cleared.append(parameters[0])
            return self._connection.execute("SELECT 1 WHERE 0")
        return self._connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> Any:
        if _normalized(sql).startswith(_FILL):
            for row in rows:
                self.rows[row[0]].append(tuple(row))
            return self._connection.execute("SELECT 1 WHERE 0")
        return self._connection.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def write_differences(connection: sqlite3.Connection, collecting: _CollectingConnection) -> int:
    """Make each cleared collection's entries the collected rows; the number of rows written."""
    written = 0
    for collection_id in collecting.cleared:
        wanted = set(collecting.rows.get(collection_id, []))
        stored = connection.execute(
            f"SELECT {_COLUMNS} FROM scalar_index_entries WHERE collection_id = ?", (collection_id,)
        ).fetchall()
        present = set(stored)
        if len(present) != len(stored):  # duplicate rows: rebuild as mongoeco does
            connection.execute(_CLEAR, (collection_id,))
            present = set()
        stale, missing = present - wanted, wanted - present
        connection.executemany(
            "DELETE FROM scalar_index_entries WHERE collection_id = ? AND index_name IS ? AND storage_key = ? "
            "AND element_type IS ? AND type_score IS ? AND element_key IS ?",
            stale,
        )
        connection.executemany(
            f"INSERT OR IGNORE INTO scalar_index_entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", missing
        )
        written += len(stale) + len(missing)
    return written


def install() -> None:
    from mongoeco.engines.sqlite import SQLiteEngine

    original = SQLiteEngine._backfill_scalar_indexes_sync

    @functools.wraps(original)
    def backfill_scalar_indexes_sync(self: Any, conn: sqlite3.Connection) -> None:
        collecting = _CollectingConnection(conn)
        original(self, collecting)
        write_differences(conn, collecting)

    SQLiteEngine._backfill_scalar_indexes_sync = backfill_scalar_indexes_sync
