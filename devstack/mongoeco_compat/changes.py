"""Cached "some document of the collection has ..." flags that follow each write instead of being dropped.

mongoeco's SQLite engine caches per-collection facts such as "some document's ``slug`` is an
array", and drops every one of a collection's facts after each write to it. The next insert then
asks again whether any ``slug`` or ``sku`` is an array (its unique-index check), a full scan: each
insert cost more than the last (9 s for the first 500 demo products, 39 s for the tenth 500).

Temporary triggers log each written row of ``documents`` (per connection, so nothing is stored).
After a write, a fact that a changed row could not have falsified is kept: "some row has P" stays
true after inserts, and stays false unless a written row has P (deleting rows never adds one).
Only the written rows are tested. Facts whose test this module does not know are dropped as before.
The same log keeps ``reads.py``'s "undecided values at this path" flags current.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHANGE_LOG = "tienda_changed_documents"
_KINDS = ("insert", "update", "delete")
_STATE = "_tienda_compat_state"


_follow_features = False


@dataclass
class EngineState:
    """What the compatibility fixes keep per engine."""

    undecided: dict[tuple[str, str], dict[str, bool]] = field(default_factory=dict)
    companions: dict[tuple[str, str], list[tuple[str, tuple[tuple[str, int], ...]]]] = field(default_factory=dict)


def state(engine: Any) -> EngineState:
    found = getattr(engine, _STATE, None)
    if found is None:
        found = EngineState()
        setattr(engine, _STATE, found)
    return found


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def text_sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def namespace_sql(db_name: str, coll_name: str) -> str:
    # Literals, not parameters: SQLite uses a partial index only when it can see the WHERE implies it.
    return f"db_name = {text_sql(db_name)} AND coll_name = {text_sql(coll_name)}"


def install_change_log(connection: sqlite3.Connection) -> None:
    """Temporary (per-connection) triggers that note every written row of ``documents``."""
    connection.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {CHANGE_LOG} "
        "(db_name TEXT NOT NULL, coll_name TEXT NOT NULL, storage_key TEXT NOT NULL, kind TEXT NOT NULL)"
    )
    for kind in _KINDS:
        row = "OLD" if kind == "delete" else "NEW"
        connection.execute(
            f"CREATE TEMP TRIGGER IF NOT EXISTS {CHANGE_LOG}_{kind} AFTER {kind.upper()} ON main.documents "
            f"BEGIN INSERT INTO {CHANGE_LOG} VALUES ({row}.db_name, {row}.coll_name, {row}.storage_key, "
            f"'{kind}'); END"
        )


@dataclass(frozen=True)
class Changes:
    engine: Any
    db_name: str
    coll_name: str
    kinds: set[str]
    keys: list[str]

    def rows_with(self, predicates: list[str]) -> list[bool]:
        """For each predicate, whether a written row that still exists satisfies it (one query per 200)."""
        found = [False] * len(predicates)
        for key_start in range(0, len(self.keys), 500):
            keys = self.keys[key_start : key_start + 500]
            for start in range(0, len(predicates), 200):
                columns = ", ".join(f"MAX(CASE WHEN ({p}) THEN 1 ELSE 0 END)" for p in predicates[start : start + 200])
                row = self.engine._connection.execute(
                    f"SELECT {columns} FROM documents WHERE db_name = ? AND coll_name = ? "
                    f"AND storage_key IN ({', '.join('?' for _ in keys)})",
                    (self.db_name, self.coll_name, *keys),
                ).fetchone()
                for offset, value in enumerate(row or ()):
                    found[start + offset] = found[start + offset] or bool(value)
        return found

    def follow(self, flags: dict[Any, Any], names: list[Any], predicate_for: Callable[[Any], str | None]) -> None:
        """Update each "some row has P" flag in ``names`` for these changes, or drop it.

        A false flag turns true if a written row has P. A true one stays true after inserts only,
        or if a written row still has P; otherwise it is dropped (another row may or may not).
        """
        checked: list[tuple[Any, str]] = []
        for name in names:
            predicate = predicate_for(name)
            if predicate is None or flags[name] not in (True, False):
                flags.pop(name, None)
            elif flags[name] is False or self.kinds - {"insert"}:
                checked.append((name, predicate))
        if not checked:
            return
        for (name, _predicate), has in zip(checked, self.rows_with([p for _, p in checked]), strict=True):
            if flags[name] is True and not has:
                flags.pop(name, None)
            elif has:
                flags[name] = True


def drain(engine: Any, db_name: str, coll_name: str) -> Changes | None:
    """The rows of the collection written since the last drain; None when there is no log."""
    connection = engine._connection
    if connection is None:
        return None
    try:
        rows = connection.execute(
            f"SELECT kind, storage_key FROM temp.{CHANGE_LOG} WHERE db_name = ? AND coll_name = ?",
            (db_name, coll_name),
        ).fetchall()
        if rows:
            connection.execute(
                f"DELETE FROM temp.{CHANGE_LOG} WHERE db_name = ? AND coll_name = ?", (db_name, coll_name)
            )
    except sqlite3.Error:
        return None
    return Changes(engine, db_name, coll_name, {kind for kind, _ in rows}, sorted({key for _, key in rows}))


@functools.lru_cache(maxsize=4096)  # built again for every write otherwise; a few dozen distinct flags
def feature_predicate(feature: str) -> str | None:
    """The row test behind one of mongoeco's cached flags (its own SQL); None when not known here."""
    from mongoeco.engines.sqlite_query import json_path_for_field, path_array_prefixes

    kind, _, path = feature.partition(":")

    def json_type_of(field_path: str) -> str:
        return f"json_type(document, {text_sql(json_path_for_field(field_path))})"

    def json_type_is(field_path: str, json_type: str) -> str:
        return f"{json_type_of(field_path)} = '{json_type}'"

    if kind == "top_level_array":
        return json_type_is(path, "array")
    if kind == "contains_real_numeric":
        return json_type_is(path, "real")
    if kind == "traverses_array":
        prefixes = path_array_prefixes(path)
        return " OR ".join(json_type_is(prefix, "array") for prefix in prefixes) if prefixes else None
    if kind == "tagged_type":
        field_path, _, value_type = path.rpartition(":")
        return tagged_type_is(field_path, value_type)
    if kind == "traverses_dbref":
        parts = path.split(".")
        prefixes = [".".join(parts[:length]) for length in range(1, len(parts))]
        return " OR ".join(tagged_type_is(prefix, "dbref") for prefix in prefixes) if prefixes else None
    if kind == "comparison_mismatch":
        field_path, _, expected = path.rpartition(":")
        allowed = {"number": "'integer', 'real'", "string": "'text'", "bool": "'true', 'false'"}.get(expected)
        if allowed is None:
            return None  # mongoeco sets these true without a query
        json_type = json_type_of(field_path)
        return f"{json_type} IS NOT NULL AND {json_type} NOT IN ({allowed})"
    return None


def tagged_type_is(field_path: str, value_type: str) -> str:
    return f"json_extract(document, {text_sql(tagged_type_path(field_path))}) = {text_sql(value_type)}"


def tagged_type_path(field_path: str) -> str:
    """The JSON path of the type tag mongoeco stores for a value JSON has no type for (Int64, Decimal128, ...)."""
    from mongoeco.core.codec import DocumentCodec
    from mongoeco.engines.sqlite_query import json_path_for_field

    return json_path_for_field(field_path) + f'."{DocumentCodec._MARKER}".{DocumentCodec._TYPE}'


def follow_changes(engine: Any, changes: Changes) -> None:
    """Update the collection's cached flags (mongoeco's and ours) for ``changes``."""
    namespace = (changes.db_name, changes.coll_name)
    features = engine._collection_features_cache
    ours = [key for key in features if key[:2] == namespace]
    if _follow_features:
        changes.follow(features, ours, lambda key: feature_predicate(key[2]))
    else:
        for key in ours:
            features.pop(key, None)
    undecided = state(engine).undecided.get(namespace)
    if undecided:
        changes.follow(undecided, list(undecided), _undecided_sql)


@functools.lru_cache(maxsize=4096)
def _undecided_sql(path: str) -> str:
    from devstack.mongoeco_compat.sql import FieldSQL

    return FieldSQL(path).undecided


def catch_up(engine: Any, db_name: str, coll_name: str) -> bool:
    """Apply writes not yet followed (before a read trusts the flags); False when that is impossible."""
    changes = drain(engine, db_name, coll_name)
    if changes is None:
        return False
    if changes.keys:
        follow_changes(engine, changes)
    return True


def _follow_instead_of_dropping(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def invalidate(self: Any, db_name: str | None = None, coll_name: str | None = None) -> None:
        current = state(self)
        changes = drain(self, db_name, coll_name) if db_name is not None and coll_name is not None else None
        if changes is None or not changes.keys:
            # Everything, or not a row write (an index, a drop): forget as mongoeco does.
            original(self, db_name, coll_name)
            if db_name is None or coll_name is None:
                current.undecided.clear()
            else:
                current.undecided.pop((db_name, coll_name), None)
            return
        follow_changes(self, changes)

    return invalidate


def after_connect(action: Callable[[Any], None]) -> None:
    """Run ``action(engine)`` each time the SQLite engine has opened its file (under its lock)."""
    from mongoeco.engines.sqlite import SQLiteEngine

    connect = SQLiteEngine._connect_sync

    @functools.wraps(connect)
    def connect_sync(self: Any) -> None:
        connect(self)
        with self._lock:
            if self._connection is not None:
                action(self)

    SQLiteEngine._connect_sync = connect_sync


def install(*, features: bool) -> None:
    """Log row writes; keep mongoeco's flags current (``features``) or drop them as before."""
    global _follow_features
    from mongoeco.engines.sqlite import SQLiteEngine

    _follow_features = features
    after_connect(lambda engine: install_change_log(engine._connection))
    SQLiteEngine._invalidate_collection_features_cache = _follow_instead_of_dropping(
        SQLiteEngine._invalidate_collection_features_cache
    )
