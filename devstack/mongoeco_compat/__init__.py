"""Fixes for gaps and slow paths in mongoeco, the MongoDB stand-in `make run` and `make test` start.

Each fix is a mongoeco gap, not a Django or MongoDB behaviour: real MongoDB needs none of them.
They reach into mongoeco's internals, so mongoeco is pinned exactly (requirements.txt) and
``apply`` refuses to run against any other version. Each fix has a test that fails without it
(``devstack/tests/test_mongoeco_compat.py`` for the gaps, ``test_mongoeco_speed.py`` and
``test_mongoeco_writes.py`` for the speed-ups, ``test_sql_reads.py`` comparing the SQL reads'
answers); ``python -m devstack.mongo_server --without-fix NAME`` leaves one out.

- commands.py: the ``buildinfo`` alias, nested field specs, self-assigning ``$addFields``, ``$not``,
  ``$bsonSize`` (and so ``listDatabases``) of Decimal128 and Int64;
- writes.py: inserts skip a whole-collection ``_id`` scan; an insert command is one transaction; the
  memory engine remembers stored documents' unique-index answers; an update or delete of one ``_id``
  whose filter SQL cannot answer reads that document only;
- startup.py: opening a file rewrites only the scalar index entries that are wrong;
- scalar_index.py: one SQLite index serves every scalar index (mongoeco made an identical one each);
- document_indexes.py: each index over the documents table holds its own collection's rows only;
- changes.py: cached per-collection facts follow each write instead of being dropped, tested on the
  written rows in Python (stored_json.py reads the stored JSON as SQLite's JSON functions do);
- outbox.py: the change outbox's gaps (writes no stream listens to) are fingerprinted without their
  document and handed to the change-stream hub in batches, not after each write;
- copies.py: deep copies of documents return immutable values (dates, ObjectIds, numbers) as they are;
- reads.py and sql.py: the SQLite engine answers filters, sorts and pages in SQL, on its own connection;
- counts.py: counting aggregations use the engine's count;
- explain.py: explain's packaged capability documents are read and validated once;
- decoding.py: reading a document asks once per codec, not per document, which keywords its decode takes;
- page_cache.py: the engine's connection caches 64 MB of the file, not SQLite's default 2 MB;
- wire_values.py: reply values BSON encodes as they are skip mongoeco's per-value conversion chain;
- validation.py: encoding a document checks each value once, not once for each dict it is nested in.
"""

from __future__ import annotations

from importlib import metadata

from devstack.mongoeco_compat.commands import (
    flatten_field_spec,
    is_truthy,
    not_operator,
    rewrite_command,
    rewrite_pipeline,
    without_self_assignments,
)

PINNED_VERSION = "4.11.0"

BUILDINFO_ALIAS = "buildinfo_alias"
NOT_OPERATOR = "not_operator"
BSON_SIZES = "bson_sizes"
FLAT_FIELD_SPECS = "flat_field_specs"
SELF_ASSIGNMENTS = "drop_self_assignments"
INSERT_WITHOUT_ID_SCAN = "insert_without_id_scan"
BATCHED_INSERTS = "batched_inserts"
MEMORY_UNIQUE_CHECKS = "memory_unique_checks"
ID_WRITES_WITHOUT_SCAN = "id_writes_without_scan"
STARTUP_WRITES_DIFFERENCES = "startup_writes_differences"
SHARED_SCALAR_INDEX = "shared_scalar_index"
PARTIAL_DOCUMENT_INDEXES = "partial_document_indexes"
FEATURES_FOLLOW_WRITES = "features_follow_writes"
GAP_FINGERPRINTS_WITHOUT_DOCUMENTS = "gap_fingerprints_without_documents"
GAP_DELIVERIES_BATCHED = "gap_deliveries_batched"
IMMUTABLE_VALUES_UNCOPIED = "immutable_values_uncopied"
SQL_READS = "sql_reads"
SHARED_READS = "shared_reads"
COUNT_SHORTCUT = "count_shortcut"
CACHED_EXPLAIN_DOCUMENTS = "cached_explain_documents"
DECODE_KEYWORDS_ONCE = "decode_keywords_once"
LARGER_PAGE_CACHE = "larger_page_cache"
PLAIN_WIRE_VALUES = "plain_wire_values"
VALIDATE_ONCE = "validate_once"
FIXES = (
    BUILDINFO_ALIAS,
    NOT_OPERATOR,
    BSON_SIZES,
    FLAT_FIELD_SPECS,
    SELF_ASSIGNMENTS,
    INSERT_WITHOUT_ID_SCAN,
    BATCHED_INSERTS,
    MEMORY_UNIQUE_CHECKS,
    ID_WRITES_WITHOUT_SCAN,
    STARTUP_WRITES_DIFFERENCES,
    SHARED_SCALAR_INDEX,
    PARTIAL_DOCUMENT_INDEXES,
    FEATURES_FOLLOW_WRITES,
    GAP_FINGERPRINTS_WITHOUT_DOCUMENTS,
    GAP_DELIVERIES_BATCHED,
    IMMUTABLE_VALUES_UNCOPIED,
    SQL_READS,
    SHARED_READS,
    COUNT_SHORTCUT,
    CACHED_EXPLAIN_DOCUMENTS,
    DECODE_KEYWORDS_ONCE,
    LARGER_PAGE_CACHE,
    PLAIN_WIRE_VALUES,
    VALIDATE_ONCE,
)

__all__ = [
    "FIXES",
    "PINNED_VERSION",
    "apply",
    "check_version",
    "flatten_field_spec",
    "is_truthy",
    "not_operator",
    "rewrite_command",
    "rewrite_pipeline",
    "without_self_assignments",
]

_applied: set[str] = set()


class VersionMismatch(RuntimeError):
    """The installed mongoeco is not the version these fixes were written against."""


def check_version(installed: str | None = None) -> None:
    """Raise unless the installed mongoeco is PINNED_VERSION."""
    installed = installed or metadata.version("mongoeco")
    if installed != PINNED_VERSION:
        raise VersionMismatch(
            f"mongoeco {installed} is installed, but devstack/mongoeco_compat patches the internals of "
            f"mongoeco {PINNED_VERSION}. Install the pinned version (`make setup`), or review every fix "
            "in devstack/mongoeco_compat/ against the new version, run its tests, then update "
            "PINNED_VERSION and requirements.txt together."
        )


def apply(*, skip: tuple[str, ...] = ()) -> None:
    """Install every fix but those in ``skip`` (tests skip one to show it is needed)."""
    check_version()
    unknown = set(skip) - set(FIXES)
    if unknown:
        raise ValueError(f"unknown mongoeco fixes: {sorted(unknown)}")
    wanted = {fix for fix in FIXES if fix not in skip}
    new = wanted - _applied
    if not new:
        return
    from devstack.mongoeco_compat import (
        changes,
        commands,
        copies,
        counts,
        decoding,
        document_indexes,
        explain,
        outbox,
        page_cache,
        reads,
        scalar_index,
        startup,
        validation,
        wire_values,
        writes,
    )

    if new & {BUILDINFO_ALIAS, FLAT_FIELD_SPECS, SELF_ASSIGNMENTS}:
        commands.install_rewrites(
            alias=BUILDINFO_ALIAS in wanted,
            flatten=FLAT_FIELD_SPECS in wanted,
            drop_self_assignments=SELF_ASSIGNMENTS in wanted,
        )
    if NOT_OPERATOR in new:
        commands.install_not_operator()
    if BSON_SIZES in new:
        commands.install_bson_sizes()
    if INSERT_WITHOUT_ID_SCAN in new:
        writes.install_insert_without_id_scan()
    if BATCHED_INSERTS in new:
        writes.install_batched_inserts()
    if MEMORY_UNIQUE_CHECKS in new:
        writes.install_memory_unique_checks()
    if ID_WRITES_WITHOUT_SCAN in new:
        writes.install_id_writes_without_scan()
    if STARTUP_WRITES_DIFFERENCES in new:
        startup.install()
    if SHARED_SCALAR_INDEX in new:
        scalar_index.install()
    if PARTIAL_DOCUMENT_INDEXES in new:
        document_indexes.install()
    if new & {FEATURES_FOLLOW_WRITES, SQL_READS} and not _applied & {FEATURES_FOLLOW_WRITES, SQL_READS}:
        changes.install(features=FEATURES_FOLLOW_WRITES in wanted)
    if GAP_FINGERPRINTS_WITHOUT_DOCUMENTS in new:
        outbox.install_gap_fingerprints()
    if GAP_DELIVERIES_BATCHED in new:
        outbox.install_batched_gap_deliveries()
    if IMMUTABLE_VALUES_UNCOPIED in new:
        copies.install()
    if SQL_READS in new:
        reads.install()
    if SHARED_READS in new:
        reads.install_shared_reads()
    if COUNT_SHORTCUT in new:
        counts.install()
    if CACHED_EXPLAIN_DOCUMENTS in new:
        explain.install()
    if DECODE_KEYWORDS_ONCE in new:
        decoding.install()
    if LARGER_PAGE_CACHE in new:
        page_cache.install()
    if PLAIN_WIRE_VALUES in new:
        wire_values.install()
    if VALIDATE_ONCE in new:
        validation.install()
    _applied.update(new)
