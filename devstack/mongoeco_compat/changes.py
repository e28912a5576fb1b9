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

from devstack.mongoeco_compat.stored_json import json_type, walker

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


def placeholders(values: list[Any]) -> str:
    """One ``?`` per value, for ``IN (...)``."""
    return ", ".join("?" for _ in values)


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
class RowTest:
    """A "this row has P" test: SQL over the stored JSON, and the same test in Python where one is known.

    ``in_python`` takes the parsed document and answers True or False, or None to leave that row's
    answer to the SQL (stored_json.py, ``sql.undecided_in``).
    """

    sql: str
    in_python: Callable[[Any], bool | None] | None = None


@dataclass(frozen=True)
class Changes:
    engine: Any
    db_name: str
    coll_name: str
    kinds: set[str]
    keys: list[str]

    def rows_with(self, tests: list[RowTest]) -> list[bool]:
        """For each test, whether a written row that still exists passes it.

        Each written row is read and parsed once for the tests known in Python; the others, and
        any a row leaves to SQL, run as one SQL query per 200 tests.
        """
        found = [False] * len(tests)
        in_sql = [index for index, test in enumerate(tests) if test.in_python is None]
        if len(in_sql) < len(tests):
            documents = self._documents()
            for index, test in enumerate(tests):
                if test.in_python is None:
                    continue
                for document in documents:
                    answer = test.in_python(document)
                    if answer is None:
                        in_sql.append(index)
                        break
                    if answer:
                        found[index] = True
                        break
        for index, has in zip(in_sql, self._rows_with_sql([tests[index].sql for index in in_sql]), strict=True):
            found[index] = has
        return found

    def _documents(self) -> list[Any]:
        from mongoeco.core.json_compat import json_loads

        documents = []
        for keys in self._key_batches():
            rows = self.engine._connection.execute(
                "SELECT document FROM documents WHERE db_name = ? AND coll_name = ? "
                f"AND storage_key IN ({placeholders(keys)})",
                (self.db_name, self.coll_name, *keys),
            )
            documents.extend(json_loads(document) for (document,) in rows)
        return documents

    def _rows_with_sql(self, predicates: list[str]) -> list[bool]:
        found = [False] * len(predicates)
        if not predicates:
            return found
        for keys in self._key_batches():
            for start in range(0, len(predicates), 200):
                columns = ", ".join(f"MAX(CASE WHEN ({p}) THEN 1 ELSE 0 END)" for p in predicates[start : start + 200])
                row = self.engine._connection.execute(
                    f"SELECT {columns} FROM documents WHERE db_name = ? AND coll_name = ? "
                    f"AND storage_key IN ({placeholders(keys)})",
                    (self.db_name, self.coll_name, *keys),
                ).fetchone()
                for offset, value in enumerate(row or ()):
                    found[start + offset] = found[start + offset] or bool(value)
        return found

    def _key_batches(self) -> list[list[str]]:
        return [self.keys[start : start + 500] for start in range(0, len(self.keys), 500)]

    def follow(self, flags: dict[Any, Any], names: list[Any], test_for: Callable[[Any], RowTest | None]) -> None:
        """Update each "some row has P" flag in ``names`` for these changes, or drop it.

        A false flag turns true if a written row has P. A true one stays true after inserts only,
        or if a written row still has P; otherwise it is dropped (another row may or may not).
        """
        checked: list[tuple[Any, RowTest]] = []
        for name in names:
            test = test_for(name)
            if test is None or flags[name] not in (True, False):
                flags.pop(name, None)
            elif flags[name] is False or self.kinds - {"insert"}:
                checked.append((name, test))
        if not checked:
            return
        for (name, _test), has in zip(checked, self.rows_with([test for _, test in checked]), strict=True):
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
def feature_test(feature: str) -> RowTest | None:
    """The row test behind one of mongoeco's cached flags (its own SQL); None when not known here."""
    from mongoeco.engines.sqlite_query import path_array_prefixes

    kind, _, path = feature.partition(":")
    if kind == "top_level_array":
        return _json_type_is([path], "array")
    if kind == "contains_real_numeric":
        return _json_type_is([path], "real")
    if kind == "traverses_array":
        prefixes = path_array_prefixes(path)
        return _json_type_is(list(prefixes), "array") if prefixes else None
    if kind == "tagged_type":
        field_path, _, value_type = path.rpartition(":")
        return _tagged_as([field_path], value_type)
    if kind == "traverses_dbref":
        parts = path.split(".")
        prefixes = [".".join(parts[:length]) for length in range(1, len(parts))]
        return _tagged_as(prefixes, "dbref") if prefixes else None
    if kind == "comparison_mismatch":
        field_path, _, expected = path.rpartition(":")
        allowed = {"number": ("integer", "real"), "string": ("text",), "bool": ("true", "false")}.get(expected)
        if allowed is None:
            return None  # mongoeco sets these true without a query

        def mismatch_sql(at: str) -> str:
            sql_type = _json_type_sql(at)
            return f"{sql_type} IS NOT NULL AND {sql_type} NOT IN ({', '.join(map(text_sql, allowed))})"

        return _some_path([field_path], mismatch_sql, lambda value: json_type(value) not in (None, *allowed))
    return None


def _json_type_sql(field_path: str) -> str:
    from mongoeco.engines.sqlite_query import json_path_for_field

    return f"json_type(document, {text_sql(json_path_for_field(field_path))})"


def _some_path(field_paths: list[str], sql_for: Callable[[str], str], holds: Callable[[Any], bool]) -> RowTest:
    """Some path's value passes the test: ``sql_for(path)`` in SQL, ``holds(value)`` on the parsed document.

    Only SQL when a path is not one Python reads as SQLite does (stored_json.py ``walker``).
    """
    sql = " OR ".join(sql_for(field_path) for field_path in field_paths)
    walks = [walker(field_path) for field_path in field_paths]
    if None in walks:
        return RowTest(sql)
    return RowTest(sql, lambda document: any(holds(walk(document)) for walk in walks))


def _json_type_is(field_paths: list[str], wanted: str) -> RowTest:
    """Some path's value is of JSON type ``wanted``."""
    return _some_path(
        field_paths, lambda field_path: f"{_json_type_sql(field_path)} = {text_sql(wanted)}",
        lambda value: json_type(value) == wanted,
    )  # fmt: skip


def _tagged_as(field_paths: list[str], value_type: str) -> RowTest:
    """Some path holds one of mongoeco's tagged values of ``value_type`` (Decimal128, DBRef, ...)."""
    from mongoeco.core.codec import DocumentCodec

    marker, type_key = DocumentCodec._MARKER, DocumentCodec._TYPE

    def tagged(value: Any) -> bool:
        tag = value.get(marker) if isinstance(value, dict) else None
        return isinstance(tag, dict) and isinstance(tag.get(type_key), str) and tag[type_key] == value_type

    return _some_path(
        field_paths,
        lambda field_path: f"json_extract(document, {text_sql(_tag_type_path(field_path))}) = {text_sql(value_type)}",
        tagged,
    )


def _tag_type_path(field_path: str) -> str:
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
        changes.follow(features, ours, lambda key: feature_test(key[2]))
    else:
        for key in ours:
            features.pop(key, None)
    undecided = state(engine).undecided.get(namespace)
    if undecided:
        changes.follow(undecided, list(undecided), undecided_test)


@functools.lru_cache(maxsize=4096)
def undecided_test(path: str) -> RowTest:
    """The row holds a value at ``path`` that the SQL reads do not order exactly (sql.py)."""
    from devstack.mongoeco_compat.sql import FieldSQL, undecided_in

    return RowTest(FieldSQL(path).undecided, lambda document: undecided_in(document, path))


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
