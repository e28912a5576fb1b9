"""mongoeco's indexes over ``documents``, each made partial on the collection it indexes.

mongoeco's SQLite engine keeps every collection in one table, ``documents``, and gives each ordered
MongoDB index an expression index over the whole table (``idx_<hash>`` on ``db_name, coll_name``
and the key's JSON expressions: "physical indexes span every namespace in the shared table"). Each
write of any document then computed and stored its keys in every one of them: 37 in the shop's
file, for a content type as for an order. On a copy of the demo file, SQLite alone took 2.1 ms to
update an order's document and 1.8 ms a product's; with each index partial on its own collection,
0.6 and 0.7 ms.

Partial, an index holds its own collection's rows only, and writes to other collections skip it.
mongoeco's own SQL names the collection with parameters, which a partial index cannot serve; it
read these indexes only to scan one collection (``db_name = ? AND coll_name = ?``, or one
database), which the table's primary key serves the same way. Filters, sorts and pages over the
keys are answered by ``reads.py`` through its companion indexes, partial on the collection too.
A ``hint`` naming such an index would now find no plan; nothing here sends one.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from devstack.mongoeco_compat.changes import after_connect, namespace_sql, quote_identifier

_TEXT = r"'(?:[^']|'')*'"
_OURS = re.compile(rf" WHERE db_name = {_TEXT} AND coll_name = {_TEXT}$")  # made for a collection since renamed


def partial_on_collection(connection: sqlite3.Connection) -> int:
    """Re-create each of mongoeco's indexes over ``documents`` partial on its collection; how many."""
    if connection.in_transaction:
        return 0

    def execute(sql: str, *parameters: Any) -> sqlite3.Cursor:
        return sqlite3.Connection.execute(connection, sql, *parameters)

    declared = execute("SELECT db_name, coll_name, physical_name FROM indexes WHERE physical_name IS NOT NULL")
    statements = []
    for db_name, coll_name, name in declared.fetchall():
        found = execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone()
        where = f" WHERE {namespace_sql(db_name, coll_name)}"
        if found is None or found[0] is None or found[0].endswith(where):
            continue
        statements += [f"DROP INDEX {quote_identifier(name)}", _OURS.sub("", found[0]) + where]
    if statements:
        execute("BEGIN IMMEDIATE")  # each index is dropped and made again, or neither
        try:
            for statement in statements:
                execute(statement)
        except BaseException:
            execute("ROLLBACK")
            raise
        execute("COMMIT")
    return len(statements) // 2


def install() -> None:
    from mongoeco.engines.sqlite import SQLiteEngine

    create_index = SQLiteEngine._create_index_sync

    @functools.wraps(create_index)
    def create_index_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = create_index(self, *args, **kwargs)
        with self._lock:
            if self._connection is not None:
                partial_on_collection(self._connection)
        return result

    SQLiteEngine._create_index_sync = create_index_sync
    after_connect(lambda engine: partial_on_collection(engine._connection))
