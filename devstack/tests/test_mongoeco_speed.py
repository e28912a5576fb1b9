"""Each mongoeco speed-up is needed (mongoeco does the slow thing without it) and changes no answer.

The answers of reads in SQL are compared query by query in test_sql_reads.py.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from mongoeco.api import AsyncMongoClient
from mongoeco.engines import SQLiteEngine

from devstack import mongoeco_compat
from devstack.mongoeco_compat import commands, counts, reads
from devstack.testing import wire_server
from devstack.tests.test_sql_reads import django_pipelines

ROOT = Path(__file__).resolve().parents[2]
DJANGO_COUNT = django_pipelines({"n": {"$gte": 0}}, [("n", 1)])[0]


def unpatched(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Put back mongoeco's own method for the rest of the test."""
    monkeypatch.setattr(owner, name, getattr(owner, name).__wrapped__)


class CallCounter:
    """Counts calls of ``owner.name`` while in use (``with CallCounter(Engine, "_method") as calls``)."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name, self.calls = owner, name, 0
        self.original = getattr(owner, name)

    def __enter__(self) -> CallCounter:
        def counting(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return self.original(*args, **kwargs)

        setattr(self.owner, self.name, counting)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.owner, self.name, self.original)


def in_process(path: Path, scenario: Callable[[Any, SQLiteEngine], Any]) -> Any:
    """Run ``scenario(database, engine)`` against a SQLite engine in this process, with every fix."""
    mongoeco_compat.apply()

    async def run() -> Any:
        engine = SQLiteEngine(str(path), executor_workers=1)
        async with AsyncMongoClient(engine) as client:
            return await scenario(client.get_database("compat"), engine)

    return asyncio.run(run())


async def fill(database: Any, count: int, **extra: Any) -> None:
    await database.command(
        {"createIndexes": "items", "indexes": [{"key": {"slug": 1}, "name": "slug", "unique": True}]}
    )
    await database.get_collection("items").insert_many(
        [{"_id": ObjectId(), "slug": f"item-{n}", "n": n, **extra} for n in range(count)]
    )


class TestVersionGuard:
    def test_the_installed_mongoeco_is_the_pinned_one(self) -> None:
        mongoeco_compat.check_version()
        assert f"mongoeco=={mongoeco_compat.PINNED_VERSION}\n" in (ROOT / "requirements.txt").read_text()

    def test_another_version_stops_the_server_from_starting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(mongoeco_compat.metadata, "version", lambda name: "4.12.0")
        with pytest.raises(mongoeco_compat.VersionMismatch, match=r"mongoeco 4\.12\.0 is installed.*4\.11\.0"):
            mongoeco_compat.apply()


class TestSelfAssignments:
    def test_only_stages_that_change_nothing_are_dropped(self) -> None:
        kept = [
            {"$addFields": {"price": "$cost"}},
            {"$addFields": {"a.b": "$a.b"}},
            {"$set": {"price": "$price", "flag": True}},
            {"$project": {"price": "$price"}},
        ]
        dropped = [{"$addFields": {"price": "$price", "_id": "$_id"}}, {"$set": {"name": "$name"}}]
        assert commands.without_self_assignments([*dropped, *kept]) == kept

    @pytest.mark.parametrize(("without", "pushed_down"), [((), True), ((mongoeco_compat.SELF_ASSIGNMENTS,), False)])
    def test_the_sort_and_page_reach_the_engine_only_with_the_fix(self, tmp_path, without, pushed_down) -> None:
        pipeline = [
            {"$match": {"n": {"$gte": 0}}},
            {"$addFields": {"n": "$n", "_id": "$_id"}},
            {"$sort": {"n": -1, "_id": 1}},
            {"$skip": 2},
            {"$limit": 3},
        ]
        with wire_server(sqlite_path=tmp_path / "db.sqlite3", without=without) as client:
            client.compat.items.insert_many([{"n": n} for n in range(10)])
            assert [document["n"] for document in client.compat.items.aggregate(pipeline)] == [7, 6, 5]
            plan = json.dumps(
                client.compat.command("explain", {"aggregate": "items", "pipeline": pipeline, "cursor": {}})
            )
        assert ("LIMIT ?" in plan) is pushed_down


class TestCountShortcut:
    def test_recognises_constant_counts_only(self) -> None:
        assert counts.count_shape(DJANGO_COUNT) is not None
        assert counts.count_shape([{"$match": {"a": 1}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}]) is not None
        for stage in (
            {"$group": {"_id": None, "n": {"$sum": "$qty"}}},
            {"$group": {"_id": "$kind", "n": {"$sum": 1}}},
            {"$group": {"_id": None, "n": {"$max": 1}}},
            {"$group": {"_id": None, "n": {"$sum": {"$rand": {}}}}},
        ):
            assert counts.count_shape([{"$match": {}}, stage]) is None
        assert counts.count_shape([*DJANGO_COUNT, {"$addFields": {"at": "$$NOW"}}]) is None
        assert counts.count_shape([*DJANGO_COUNT, {"$sort": {"a": 1}}]) is None

    @staticmethod
    def documents_decoded_by_a_count(path: Path) -> tuple[list[Any], int]:
        async def scenario(database: Any, engine: SQLiteEngine) -> tuple[list[Any], int]:
            await fill(database, 300)
            with CallCounter(SQLiteEngine, "_deserialize_document") as decoded:
                reply = await database.command({"aggregate": "items", "pipeline": DJANGO_COUNT, "cursor": {}})
            return reply["cursor"]["firstBatch"], decoded.calls

        return in_process(path, scenario)

    def test_a_count_decodes_no_documents_with_the_fix(self, tmp_path) -> None:
        batch, decoded = self.documents_decoded_by_a_count(tmp_path / "db.sqlite3")
        assert batch == [{"_id": None, "__count": 300}]
        assert decoded < 10

    def test_a_count_decodes_every_document_without_it(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        from mongoeco.api._async._database_admin_read_commands import DatabaseAdminReadCommandService

        mongoeco_compat.apply()
        unpatched(monkeypatch, DatabaseAdminReadCommandService, "execute_aggregate_command")
        batch, decoded = self.documents_decoded_by_a_count(tmp_path / "db.sqlite3")
        assert batch == [{"_id": None, "__count": 300}]
        assert decoded >= 300


class TestBatchedInserts:
    @staticmethod
    def single_inserts_for_one_command(path: Path) -> int:
        async def scenario(database: Any, engine: SQLiteEngine) -> int:
            with CallCounter(SQLiteEngine, "_insert_document_sync") as inserts:
                reply = await database.command({"insert": "items", "documents": [{"n": n} for n in range(50)]})
            assert reply["n"] == 50
            return inserts.calls

        return in_process(path, scenario)

    def test_one_command_is_one_batch_with_the_fix(self, tmp_path) -> None:
        assert self.single_inserts_for_one_command(tmp_path / "db.sqlite3") == 0

    def test_each_document_is_its_own_insert_without_it(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        from mongoeco.api._async._database_admin_write_commands import DatabaseAdminWriteCommandService

        mongoeco_compat.apply()
        unpatched(monkeypatch, DatabaseAdminWriteCommandService, "command_insert")
        assert self.single_inserts_for_one_command(tmp_path / "db.sqlite3") == 50

    @staticmethod
    def failing_batch(client: pymongo.MongoClient) -> tuple[dict[str, Any], list[Any]]:
        items = client.compat.items
        items.create_index("slug", unique=True)
        items.insert_one({"_id": 3, "slug": "taken"})
        documents = [{"_id": 10 + n, "slug": f"s{n}"} for n in range(8)]
        documents[4]["slug"] = "taken"
        reply = client.compat.command("insert", "items", documents=documents, check=False)
        reply = {"n": reply["n"], "errors": [(e["index"], e["code"]) for e in reply.get("writeErrors", [])]}
        return reply, list(items.find(sort=[("_id", 1)]))

    def test_a_failing_document_gets_the_same_reply(self, tmp_path) -> None:
        with wire_server(sqlite_path=tmp_path / "fast.sqlite3") as fast:
            batched = self.failing_batch(fast)
        without = (mongoeco_compat.BATCHED_INSERTS,)
        with wire_server(sqlite_path=tmp_path / "plain.sqlite3", without=without) as plain:
            one_by_one = self.failing_batch(plain)
        assert batched == one_by_one
        assert batched[0] == {"n": 4, "errors": [(4, 11000)]}


class TestStartupWritesDifferences:
    @staticmethod
    def entries(path: Path) -> set[tuple[Any, ...]]:
        import sqlite3

        with sqlite3.connect(path) as connection:
            return set(connection.execute("SELECT * FROM scalar_index_entries"))

    @staticmethod
    def reopen(path: Path) -> int:
        """Open the file again; the rows the scalar-entry rebuild changed."""

        async def scenario(database: Any, engine: SQLiteEngine) -> int:
            return engine._tienda_backfill_changes

        mongoeco_compat.apply()
        original = SQLiteEngine._backfill_scalar_indexes_sync

        def measuring(self: Any, conn: Any) -> None:
            before = conn.total_changes
            original(self, conn)
            self._tienda_backfill_changes = conn.total_changes - before

        SQLiteEngine._backfill_scalar_indexes_sync = measuring
        try:
            return in_process(path, scenario)
        finally:
            SQLiteEngine._backfill_scalar_indexes_sync = original

    def test_a_clean_file_opens_without_rewriting_entries(self, tmp_path) -> None:
        path = tmp_path / "db.sqlite3"
        in_process(path, lambda database, engine: fill(database, 200))
        entries = self.entries(path)
        assert len(entries) >= 200
        assert self.reopen(path) == 0
        assert self.entries(path) == entries

    def test_without_the_fix_every_entry_is_rewritten(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp_path / "db.sqlite3"
        in_process(path, lambda database, engine: fill(database, 200))
        unpatched(monkeypatch, SQLiteEngine, "_backfill_scalar_indexes_sync")
        assert self.reopen(path) >= 2 * len(self.entries(path))

    def test_wrong_entries_end_as_a_full_rebuild_leaves_them(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        import sqlite3

        path = tmp_path / "db.sqlite3"
        in_process(path, lambda database, engine: fill(database, 200))
        with sqlite3.connect(path) as connection:
            connection.execute(
                "DELETE FROM scalar_index_entries WHERE rowid IN (SELECT rowid FROM scalar_index_entries LIMIT 3)"
            )
            connection.execute(
                "INSERT INTO scalar_index_entries SELECT collection_id, index_name, 'nowhere', element_type,"
                " type_score, element_key FROM scalar_index_entries LIMIT 2"
            )
        rebuilt = tmp_path / "rebuilt.sqlite3"
        shutil.copy(path, rebuilt)
        assert self.reopen(path) == 5
        with monkeypatch.context() as patch:
            unpatched(patch, SQLiteEngine, "_backfill_scalar_indexes_sync")
            self.reopen(rebuilt)
        assert self.entries(path) == self.entries(rebuilt)


class TestFeaturesFollowWrites:
    @staticmethod
    def collection_scans_by_one_insert(path: Path) -> int:
        async def scenario(database: Any, engine: SQLiteEngine) -> int:
            await fill(database, 300)
            await database.get_collection("items").insert_one({"slug": "warm-up"})
            scans = []
            engine._connection.set_trace_callback(
                lambda sql: scans.append(sql) if "json_type(document" in sql and "storage_key IN" not in sql else None
            )
            try:
                await database.get_collection("items").insert_one({"slug": "one-more"})
            finally:
                engine._connection.set_trace_callback(None)
            return len(scans)

        return in_process(path, scenario)

    def test_an_insert_reads_no_other_document_with_the_fix(self, tmp_path) -> None:
        assert self.collection_scans_by_one_insert(tmp_path / "db.sqlite3") == 0

    def test_an_insert_scans_the_collection_without_it(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        mongoeco_compat.apply()
        unpatched(monkeypatch, SQLiteEngine, "_invalidate_collection_features_cache")
        assert self.collection_scans_by_one_insert(tmp_path / "db.sqlite3") >= 1

    @staticmethod
    def unique_array_elements(client: pymongo.MongoClient) -> list[str]:
        items = client.compat.items
        items.create_index("slug", unique=True)
        outcomes = []
        for document in ({"slug": "a"}, {"slug": ["b", "c"]}, {"slug": "c"}, {"slug": "d"}):
            try:
                items.insert_one(document)
                outcomes.append("stored")
            except pymongo.errors.DuplicateKeyError:
                outcomes.append("duplicate")
        items.delete_many({"slug": "b"})
        items.insert_one({"slug": "b"})
        return [*outcomes, str(items.count_documents({}))]

    def test_unique_checks_still_see_arrays(self, tmp_path) -> None:
        with wire_server(sqlite_path=tmp_path / "fast.sqlite3") as fast:
            followed = self.unique_array_elements(fast)
        without = (mongoeco_compat.FEATURES_FOLLOW_WRITES, mongoeco_compat.SQL_READS)
        with wire_server(sqlite_path=tmp_path / "plain.sqlite3", without=without) as plain:
            dropped = self.unique_array_elements(plain)
        assert followed == dropped
        assert followed[:4] == ["stored", "stored", "duplicate", "stored"]


def test_reads_in_sql_show_in_explain_only_with_the_fix(tmp_path) -> None:
    for without, expected in (((), True), ((mongoeco_compat.SQL_READS,), False)):
        with wire_server(sqlite_path=tmp_path / f"{expected}.sqlite3", without=without) as client:
            client.compat.items.insert_many([{"n": n} for n in range(5)])
            plan = json.dumps(client.compat.command("explain", {"find": "items", "filter": {"n": {"$gt": 1}}}))
        assert (reads.SQL_MARKER in plan) is expected


class TestSharedReads:
    @staticmethod
    def connections_opened_by_reads(path: Path) -> int:
        async def scenario(database: Any, engine: SQLiteEngine) -> int:
            await fill(database, 50)
            items = database.get_collection("items")
            with CallCounter(SQLiteEngine, "_create_sqlite_connection") as opened:
                for n in range(20):
                    assert len(await items.find({"n": {"$gte": n}}).to_list()) == 50 - n
            return opened.calls

        return in_process(path, scenario)

    def test_reads_use_the_engine_connection_with_the_fix(self, tmp_path) -> None:
        assert self.connections_opened_by_reads(tmp_path / "db.sqlite3") == 0

    def test_each_read_opens_a_connection_without_it(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        mongoeco_compat.apply()
        unpatched(monkeypatch, SQLiteEngine, "_can_use_dedicated_reader")
        assert self.connections_opened_by_reads(tmp_path / "db.sqlite3") >= 20

    @pytest.mark.parametrize("without", [(), (mongoeco_compat.SHARED_READS,)])
    def test_an_open_transaction_is_not_read_from_outside(self, tmp_path, without) -> None:
        with wire_server(sqlite_path=tmp_path / "db.sqlite3", without=without) as client:
            items = client.compat.items
            items.insert_one({"_id": 1})
            with client.start_session() as session:
                session.start_transaction()
                items.insert_one({"_id": 2}, session=session)
                # mongoeco refuses other sessions while a transaction is open, with the fix or not.
                with pytest.raises(pymongo.errors.OperationFailure, match="another session"):
                    list(items.find())
                assert [document["_id"] for document in items.find(session=session, sort=[("_id", 1)])] == [1, 2]
                session.commit_transaction()
            assert [document["_id"] for document in items.find(sort=[("_id", 1)])] == [1, 2]


class TestMemoryUniqueChecks:
    """The memory engine's unique checks stop re-testing every stored document (flushes, fixtures)."""

    @staticmethod
    def partial_filter_matches_for_one_insert() -> int:
        from mongoeco.core.filtering import QueryEngine
        from mongoeco.engines import MemoryEngine

        mongoeco_compat.apply()

        async def scenario() -> int:
            async with AsyncMongoClient(MemoryEngine()) as client:
                database = client.get_database("compat")
                index = {"key": {"slug": 1, "kind": 1}, "name": "slug_kind", "unique": True,
                         "partialFilterExpression": {"slug": {"$type": "string"}}}  # fmt: skip
                await database.command({"createIndexes": "items", "indexes": [index]})
                items = database.get_collection("items")
                await items.insert_many([{"slug": f"item-{n}", "kind": n % 3} for n in range(300)])
                await items.insert_one({"slug": "warm-up", "kind": 0})
                with CallCounter(QueryEngine, "match_plan") as matches:
                    await items.insert_one({"slug": "one-more", "kind": 1})
                with pytest.raises(pymongo.errors.DuplicateKeyError):
                    await items.insert_one({"slug": "item-4", "kind": 1})
                return matches.calls

        return asyncio.run(scenario())

    def test_stored_documents_are_not_tested_again_with_the_fix(self) -> None:
        assert self.partial_filter_matches_for_one_insert() < 20

    def test_every_stored_document_is_tested_again_without_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from mongoeco.engines import memory

        mongoeco_compat.apply()
        unpatched(monkeypatch, memory, "document_in_virtual_index")
        unpatched(monkeypatch, memory.MemoryEngine, "_unique_index_keys")
        assert self.partial_filter_matches_for_one_insert() >= 300


class TestSharedScalarIndex:
    @staticmethod
    def scalar_entry_indexes(path: Path) -> list[str]:
        import sqlite3

        with sqlite3.connect(path) as connection:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scalar_index_entries'"
            )
            return sorted(name for (name,) in rows)

    @staticmethod
    def indexed_collection(client: pymongo.MongoClient) -> list[str]:
        items = client.compat.items
        for field in ("slug", "sku", "price", "name", "created_at"):
            items.create_index(field, unique=field in ("slug", "sku"))
        items.insert_many([{"slug": f"s{n}", "sku": f"k{n}", "price": n, "name": f"n{n}"} for n in range(50)])
        outcomes = []
        for document in ({"slug": "s3", "sku": "new"}, {"slug": "new", "sku": "k7"}, {"slug": "fresh", "sku": "x"}):
            try:
                items.insert_one(document)
                outcomes.append("stored")
            except pymongo.errors.DuplicateKeyError:
                outcomes.append("duplicate")
        items.drop_index("price_1")
        outcomes.append(str(items.count_documents({"slug": "s9"})))
        return outcomes

    def test_one_index_serves_every_scalar_index(self, tmp_path) -> None:
        with wire_server(sqlite_path=tmp_path / "db.sqlite3") as client:
            assert self.indexed_collection(client) == ["duplicate", "duplicate", "stored", "1"]
        assert self.scalar_entry_indexes(tmp_path / "db.sqlite3") == [
            "idx_scalar_index_entries_storage",
            "scidx_shared",
        ]

    def test_without_it_each_index_has_its_own_copy(self, tmp_path) -> None:
        without = (mongoeco_compat.SHARED_SCALAR_INDEX,)
        with wire_server(sqlite_path=tmp_path / "db.sqlite3", without=without) as client:
            assert self.indexed_collection(client) == ["duplicate", "duplicate", "stored", "1"]
        assert len(self.scalar_entry_indexes(tmp_path / "db.sqlite3")) == 5  # storage + 4 kept copies

    def test_an_older_file_drops_its_copies_and_keeps_working(self, tmp_path) -> None:
        path = tmp_path / "db.sqlite3"
        with wire_server(sqlite_path=path, without=(mongoeco_compat.SHARED_SCALAR_INDEX,)) as client:
            self.indexed_collection(client)
        with wire_server(sqlite_path=path) as client:
            items = client.compat.items
            with pytest.raises(pymongo.errors.DuplicateKeyError):
                items.insert_one({"slug": "s5", "sku": "other"})
            assert items.count_documents({"sku": "k8"}) == 1
        assert self.scalar_entry_indexes(path) == ["idx_scalar_index_entries_storage", "scidx_shared"]


def test_opening_a_file_learns_the_paths_queries_are_likely_to_name(tmp_path) -> None:
    from devstack.mongoeco_compat.changes import state

    path = tmp_path / "db.sqlite3"
    in_process(path, lambda database, engine: fill(database, 30, attributes={"size": "M"}, tags=["a"]))

    async def learned(database: Any, engine: SQLiteEngine) -> dict[str, bool]:
        return dict(state(engine).undecided[("compat", "items")])

    flags = in_process(path, learned)
    assert flags["slug"] is False  # a declared index's field
    assert flags["attributes.size"] is False  # a field of the first documents, one level down
    assert flags["tags"] is True  # an array: queries naming it go to mongoeco
