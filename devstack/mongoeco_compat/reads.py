"""The SQLite engine answers filters, sorts, skips and limits in SQL (devstack/mongoeco_compat/sql.py).

mongoeco 4.11 translates few filters to SQL: with a decimal, a case-insensitive regex or a sort it
reads, decodes and compares every document of the collection in Python (1.6 s for a product
listing over 5,000 products). Here its read planner first tries ``sql.compile_query``; the SQL it
returns is used when every document of the collection holds a decided value at each path the query
names (checked once per path and kept up to date from a log of changed rows), so the answer is the
one MongoDB gives. Anything else goes to mongoeco's planner unchanged.

Each index the collection declares gets a companion SQLite index over the same keys as
``sql.FieldSQL.key`` expressions (``tienda_key_...``, partial on the collection), so a sorted page
reads only its rows, as MongoDB's index would.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from typing import Any

from devstack.mongoeco_compat import changes
from devstack.mongoeco_compat.changes import namespace_sql, placeholders, quote_identifier, state, text_sql
from devstack.mongoeco_compat.sql import REGEX_FUNCTION, Compiled, FieldSQL, Unsupported, compile_query, regex_search

COMPANION_PREFIX = "tienda_key_"
# Ends each statement this module writes (explain output shows it: tests check which path ran).
SQL_MARKER = "devstack.mongoeco_compat.sql"


# --- companion indexes --------------------------------------------------------------------------


def companion_name(db_name: str, coll_name: str, keys: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.sha1(json.dumps([db_name, coll_name, keys]).encode(), usedforsecurity=False).hexdigest()
    return COMPANION_PREFIX + digest[:16]


def _declared_keys(raw: str | None) -> tuple[tuple[str, int], ...] | None:
    try:
        keys = tuple((str(name), int(direction)) for name, direction in json.loads(raw or "[]"))
        for name, direction in keys:
            FieldSQL(name)
            if direction not in (1, -1):
                return None
    except (TypeError, ValueError, Unsupported):
        return None
    return keys or None


def reconcile_companions(engine: Any, *, drop_orphans: bool) -> None:
    """Create the companion index of every declared index; optionally drop those of no index."""
    connection = engine._connection
    if connection is None or connection.in_transaction:
        return
    wanted: dict[str, tuple[str, str, tuple[tuple[str, int], ...]]] = {}
    for db_name, coll_name, raw in connection.execute("SELECT db_name, coll_name, keys FROM indexes"):
        keys = _declared_keys(raw)
        if keys:
            wanted[companion_name(db_name, coll_name, keys)] = (db_name, coll_name, keys)
    existing = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' AND name LIKE ?",
            (COMPANION_PREFIX + "%",),
        )
    }
    for name, (db_name, coll_name, keys) in wanted.items():
        if name not in existing:
            columns = ", ".join(f"{FieldSQL(field).key} {'ASC' if d == 1 else 'DESC'}" for field, d in keys)
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {quote_identifier(name)} ON documents ({columns}) "
                f"WHERE {namespace_sql(db_name, coll_name)}"
            )
    if drop_orphans:
        for name in existing - set(wanted):
            connection.execute(f"DROP INDEX IF EXISTS {quote_identifier(name)}")
    companions = state(engine).companions
    companions.clear()
    for name, (db_name, coll_name, keys) in wanted.items():
        companions.setdefault((db_name, coll_name), []).append((name, keys))


def choose_index(companions: list[tuple[str, tuple[tuple[str, int], ...]]], compiled: Compiled) -> str | None:
    """The companion index to read: one led by a pinned field, else one in the sort's order.

    Among those led by pinned fields, the longest pinned prefix wins, then one whose next keys
    follow the sort (the page comes out of the index in order), then one whose next key the query
    bounds (a count reads a range of the index, not every pinned row's document).
    """

    def fit(keys: tuple[tuple[str, int], ...]) -> int:
        pinned = 0
        while pinned < len(keys) and keys[pinned][0] in compiled.pinned:
            pinned += 1
        rest = keys[pinned:]
        follows = 0
        sort = compiled.sort[: len(rest)]
        if sort and all(a[0] == b[0] for a, b in zip(rest, sort, strict=False)):
            same = all(a[1] == b[1] for a, b in zip(rest, sort, strict=False))
            reverse = all(a[1] == -b[1] for a, b in zip(rest, sort, strict=False))
            follows = len(sort) if same or reverse else 0
        bounded = int(bool(rest) and rest[0][0] in compiled.ranged)
        return pinned * 100 + follows * 10 + bounded

    led_by_pinned = [(fit(keys), name) for name, keys in companions if keys[0][0] in compiled.pinned]
    if led_by_pinned:
        return max(led_by_pinned)[1]
    if compiled.pinned & {keys[0][0] for _, keys in companions} or not compiled.sort:
        return None
    in_order = [(fit(keys), name) for name, keys in companions]
    best = max(in_order, default=(0, None))
    return best[1] if best[0] >= 10 else None  # only an index in the sort's order beats SQLite's own choice


# --- the read planner ---------------------------------------------------------------------------


def _learn_undecided(engine: Any, db_name: str, coll_name: str, paths: set[str]) -> dict[str, bool]:
    """The collection's flags, with ``paths`` checked (one scan for all the unknown ones)."""
    known = state(engine).undecided.setdefault((db_name, coll_name), {})
    unknown = sorted(paths - set(known))
    if unknown:
        columns = ", ".join(f"MAX({FieldSQL(path).undecided})" for path in unknown)
        row = engine._connection.execute(
            f"SELECT {columns} FROM documents WHERE {namespace_sql(db_name, coll_name)}"
        ).fetchone()
        for path, value in zip(unknown, row, strict=True):
            known[path] = bool(value)
    return known


def _has_undecided(engine: Any, db_name: str, coll_name: str, paths: set[str]) -> bool:
    if not changes.catch_up(engine, db_name, coll_name):
        return True
    known = _learn_undecided(engine, db_name, coll_name, paths)
    return any(known[path] for path in paths)


def learn_likely_paths(engine: Any, *, sample: int = 50) -> None:
    """Check, on opening the file, the paths queries are likely to name, so the first ones need not.

    For each collection with declared indexes: their fields, and the top-level fields (and those of
    plain embedded documents) of its first ``sample`` documents. One scan per collection (170 ms for
    25 paths over 5,000 products), instead of one on the first query that names a new path.
    """
    from mongoeco.core.json_compat import json_loads

    for (db_name, coll_name), companions in state(engine).companions.items():
        paths = {name for _, keys in companions for name, _ in keys}
        rows = engine._connection.execute(
            f"SELECT document FROM documents WHERE {namespace_sql(db_name, coll_name)} ORDER BY rowid LIMIT ?",
            (sample,),
        )
        for (payload,) in rows:
            for name, value in json_loads(payload).items():
                paths.add(name)
                if isinstance(value, dict) and "$mongoeco" not in value:
                    paths.update(f"{name}.{inner}" for inner in value)
        valid = set()
        for path in paths:
            try:
                FieldSQL(path)
            except Unsupported:
                continue
            valid.add(path)
        _learn_undecided(engine, db_name, coll_name, valid)


def _is_the_plan(filter_spec: Any, semantics: Any) -> bool:
    """Whether ``filter_spec`` is what the read matches: some callers (the update path's first-match
    lookup) pass an empty filter and the real one only as mongoeco's compiled plan."""
    from mongoeco.core.query_plan import ensure_query_plan

    try:
        return ensure_query_plan(filter_spec, None, dialect=semantics.dialect) == semantics.query_plan
    except Exception:  # noqa: BLE001 - a filter mongoeco itself rejects is left to mongoeco
        return False


def sql_read_plan(
    engine: Any, db_name: str, coll_name: str, semantics: Any, *, select_clause: str, hint: Any
) -> Any | None:
    """mongoeco's read plan for ``semantics`` answered in SQL, or None to leave it to mongoeco."""
    from mongoeco.engines.sqlite_planner import SQLiteReadExecutionPlan, _sql_lineage, _sql_physical_plan

    if (
        hint is not None
        or semantics.hint is not None
        or semantics.collation is not None
        or semantics.text_query is not None
        or engine._connection is None
        or engine._is_profile_namespace(coll_name)
    ):
        return None
    filter_spec = semantics.selector_filter if semantics.selector_filter is not None else semantics.filter_spec
    if not _is_the_plan(filter_spec, semantics):
        return None
    compiled = compile_query(filter_spec, semantics.sort)
    if compiled is None:
        return None
    try:
        if _has_undecided(engine, db_name, coll_name, compiled.paths):
            return None
    except sqlite3.Error:
        return None
    source = "documents"
    conditions = [namespace_sql(db_name, coll_name)]
    params: list[Any] = []
    if compiled.ids is not None:
        conditions.append(f"storage_key IN ({placeholders(compiled.ids)})")
        params += [engine._storage_key(value) for value in compiled.ids]
    else:
        index = choose_index(state(engine).companions.get((db_name, coll_name), []), compiled)
        if index:
            source += f" INDEXED BY {quote_identifier(index)}"
    conditions.append(compiled.where)
    params += compiled.params
    if select_clause == "document":
        select_clause = projected_document(semantics.projection) or select_clause
    sql = f"SELECT {select_clause} FROM {source} WHERE {' AND '.join(conditions)} {compiled.order_by}"
    if semantics.limit is not None:
        sql += " LIMIT ?"
        params.append(semantics.limit)
    elif semantics.skip:
        sql += " LIMIT -1"
    if semantics.skip:
        sql += " OFFSET ?"
        params.append(semantics.skip)
    sql += f" /* {SQL_MARKER} */"
    return SQLiteReadExecutionPlan(
        semantics=semantics,
        strategy="sql",
        execution_lineage=_sql_lineage(semantics),
        physical_plan=_sql_physical_plan(semantics),
        use_sql=True,
        sql=sql,
        params=tuple(params),
    )


def projected_document(projection: Any) -> str | None:
    """SQL for just the top-level fields an inclusion projection keeps, in the document's order.

    mongoeco decodes whole documents and then projects them in Python; a values() query over a
    category read and decoded every field of 1,250 products. Reading only the kept fields (``->``
    keeps each value's JSON, so ``true`` stays ``true``) gives mongoeco's projection the same input
    for those fields. None when the projection is not a plain inclusion of named fields.
    """
    if not isinstance(projection, dict) or not projection:
        return None
    kept = {"_id"}  # kept even when excluded: mongoeco's projection then drops it
    for name, value in projection.items():
        included = value is True or (type(value) is int and value == 1)
        if not isinstance(name, str) or not (included or (name == "_id" and value in (0, False))):
            return None
        top = name.split(".")[0]
        try:
            FieldSQL(top)
        except Unsupported:
            return None
        if included:
            kept.add(top)
    if len(kept) == 1:  # only "_id": 0, an exclusion: every other field stays
        return None
    names = ", ".join(text_sql(name) for name in sorted(kept))
    return (
        "(SELECT json_group_object(key, document -> ('$.\"' || key || '\"')) "
        f"FROM json_each(document) WHERE key IN ({names}))"
    )


def install() -> None:
    from mongoeco.engines.sqlite import SQLiteEngine

    create_connection = SQLiteEngine._create_sqlite_connection
    create_index = SQLiteEngine._create_index_sync
    compile_plan = SQLiteEngine._compile_read_execution_plan

    @functools.wraps(create_connection)
    def create_sqlite_connection(self: Any) -> sqlite3.Connection:
        connection = create_connection(self)
        connection.create_function(REGEX_FUNCTION, 3, regex_search, deterministic=True)
        return connection

    @functools.wraps(create_index)
    def create_index_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = create_index(self, *args, **kwargs)
        with self._lock:
            reconcile_companions(self, drop_orphans=False)
        return result

    @functools.wraps(compile_plan)
    def compile_read_execution_plan(
        self: Any, db_name: str, coll_name: str, semantics: Any, *, select_clause: str = "document", hint: Any = None
    ) -> Any:
        plan = sql_read_plan(self, db_name, coll_name, semantics, select_clause=select_clause, hint=hint)
        if plan is not None:
            return plan
        return compile_plan(self, db_name, coll_name, semantics, select_clause=select_clause, hint=hint)

    plan_find = SQLiteEngine._plan_find_semantics_sync

    @functools.wraps(plan_find)
    def plan_find_semantics_sync(self: Any, db_name: str, coll_name: str, semantics: Any) -> Any:
        # What explain shows: the plan the read itself takes.
        plan = sql_read_plan(self, db_name, coll_name, semantics, select_clause="document", hint=None)
        return plan if plan is not None else plan_find(self, db_name, coll_name, semantics)

    SQLiteEngine._plan_find_semantics_sync = plan_find_semantics_sync
    SQLiteEngine._create_sqlite_connection = create_sqlite_connection

    def prepare(engine: Any) -> None:
        reconcile_companions(engine, drop_orphans=True)
        learn_likely_paths(engine)

    changes.after_connect(prepare)
    SQLiteEngine._create_index_sync = create_index_sync
    SQLiteEngine._compile_read_execution_plan = compile_read_execution_plan


def install_shared_reads() -> None:
    """Reads run on the engine's connection unless a transaction is open on it.

    For each read mongoeco opens (and closes) a SQLite connection of its own, so that a long cursor
    keeps a snapshot while writes go on: about 1.5 ms a read (the connection's set-up and a first
    look at a schema of some hundred indexes), more than a point lookup takes. With one worker
    thread a read and a write never overlap, and mongoeco already copies a shared read's rows
    before the next command runs, so the main connection gives the same snapshot. While a
    transaction is open on it, reads keep their own connection (they must not see its writes).
    """
    from mongoeco.engines.sqlite import SQLiteEngine

    original = SQLiteEngine._can_use_dedicated_reader

    @functools.wraps(original)
    def can_use_dedicated_reader(self: Any, context: Any) -> bool:
        if not original(self, context):
            return False
        connection = self._connection
        return connection is None or connection.in_transaction

    SQLiteEngine._can_use_dedicated_reader = can_use_dedicated_reader
