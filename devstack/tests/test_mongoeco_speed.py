"""Each mongoeco read speed-up (and the version guard) is needed: mongoeco does the slow thing
without it, and it changes no answer. The answers of reads in SQL are compared query by query in
test_sql_reads.py; the write and start-up speed-ups are in test_mongoeco_writes.py.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import bson
import pymongo
import pytest
from bson import SON, Decimal128, Int64, ObjectId
from mongoeco.engines import SQLiteEngine

from devstack import mongoeco_compat
from devstack.mongoeco_compat import commands, counts, page_cache, reads, wire_values
from devstack.testing import wire_server
from devstack.tests.engine_helpers import CallCounter, django_pipelines, fill, in_process, unpatched

ROOT = Path(__file__).resolve().parents[2]
DJANGO_COUNT = django_pipelines({"n": {"$gte": 0}}, [("n", 1)])[0]


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


class TestDecodeKeywordsOnce:
    @staticmethod
    def signatures_taken_by_a_read(path: Path) -> tuple[list[int], int]:
        async def scenario(database: Any, engine: SQLiteEngine) -> tuple[list[int], int]:
            await fill(database, 60)
            with CallCounter(inspect, "signature") as taken:
                found = await database.get_collection("items").find({}, sort=[("n", 1)]).to_list()
            return [document["n"] for document in found], taken.calls

        return in_process(path, scenario)

    def test_a_read_takes_no_signature_per_document_with_the_fix(self, tmp_path) -> None:
        found, taken = self.signatures_taken_by_a_read(tmp_path / "db.sqlite3")
        assert found == list(range(60))
        assert taken < 5

    def test_a_read_takes_one_per_document_without_it(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        mongoeco_compat.apply()
        unpatched(monkeypatch, SQLiteEngine, "_decode_codec_payload")
        found, taken = self.signatures_taken_by_a_read(tmp_path / "db.sqlite3")
        assert found == list(range(60))
        assert taken >= 60


class TestPlainWireValues:
    PLAIN = {"s": "é", "n": 2**62, "f": 1.5, "b": True, "none": None, "at": datetime(2026, 1, 2, 3, 4, 5, 6000),
             "list": [1, "a", [False]], "nested": {"a": {"b": 0.0}}}  # fmt: skip

    def test_replies_encode_to_the_bytes_mongoeco_gives(self) -> None:
        from mongoeco import types
        from mongoeco.wire import bson_bridge

        mongoeco_compat.apply()
        mongoeco = bson_bridge.encode_wire_value.__wrapped__
        reply = {
            **self.PLAIN,
            "son": SON([("z", 1), ("a", Int64(2))]),
            "ids": [ObjectId(), types.ObjectId(), Decimal128("1.10"), types.Decimal128("2.5")],
            "odd": [b"raw", uuid.UUID(int=7), types.Regex("^a", "i"), Int64(3), {"deep": [types.ObjectId()]}],
        }
        assert bson.encode(bson_bridge.encode_wire_value(reply)) == bson.encode(mongoeco(reply))

    def test_plain_values_skip_mongoeco_conversion(self) -> None:
        from mongoeco.wire import bson_bridge, protocol

        mongoeco_compat.apply()
        assert protocol.encode_wire_value is bson_bridge.encode_wire_value, "one function for every caller"
        asked: list[Any] = []
        encode = wire_values.fast_path(lambda value: asked.append(value) or value)
        assert encode(self.PLAIN) == self.PLAIN
        assert asked == []
        encode({"id": ObjectId(), "plain": "x"})
        assert [type(value) for value in asked] == [ObjectId]


class TestValidateOnce:
    LISTING = {"$and": [{"is_active": True}, {"$and": [
        {"category_id": {"$in": [ObjectId(), ObjectId()]}},
        {"$and": [{"price": {"$lte": Decimal128("35.5")}}, {"price": {"$exists": True}}, {"at": datetime(2026, 1, 1)}]},
    ]}]}  # fmt: skip
    BAD = [{1: "x"}, {"a": [{"b": {2: 1}}]}, {"a": {1, 2}}, {"a": [2**70]}, {"a": {"b": [{"c": 2**64}]}},
           {"a": (1, {3})}]  # fmt: skip

    @staticmethod
    def outcome(document: Any) -> Any:
        from mongoeco.core.codec import DocumentCodec

        try:
            return DocumentCodec.to_internal(document)
        except (TypeError, OverflowError) as error:  # the check's errors, compared by type and message
            return type(error), str(error)

    def test_documents_encode_and_fail_as_with_mongoeco_walk(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from mongoeco.core import codec

        mongoeco_compat.apply()
        once = [self.outcome(document) for document in [self.LISTING, *self.BAD]]
        assert all(isinstance(failed, tuple) for failed in once[1:])
        monkeypatch.setattr(codec, "validate_bson_value", codec.validate_bson_value.__wrapped__)
        assert once == [self.outcome(document) for document in [self.LISTING, *self.BAD]]

    def test_each_value_is_checked_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from mongoeco.core import bson_scalars, codec

        mongoeco_compat.apply()
        with CallCounter(bson_scalars, "wrap_bson_numeric") as checked:
            self.outcome(self.LISTING)
        assert checked.calls <= 8, "the scalars: True, two ids, the decimal, the date, True"
        monkeypatch.setattr(codec, "validate_bson_value", codec.validate_bson_value.__wrapped__)
        with CallCounter(bson_scalars, "wrap_bson_numeric") as walked:
            self.outcome(self.LISTING)
        assert walked.calls > 3 * checked.calls


def test_the_engine_connection_caches_64_mb_of_the_file(tmp_path) -> None:
    async def scenario(database: Any, engine: SQLiteEngine) -> int:
        await fill(database, 5)
        return sqlite3.Connection.execute(engine._connection, "PRAGMA cache_size").fetchone()[0]

    assert in_process(tmp_path / "db.sqlite3", scenario) == -page_cache.CACHE_KIB == -65536
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite3")) as default:
        assert default.execute("PRAGMA cache_size").fetchone()[0] == -2000, "SQLite's own default: 2 MB"


def test_reads_in_sql_show_in_explain_only_with_the_fix(tmp_path) -> None:
    for without, expected in (((), True), ((mongoeco_compat.SQL_READS,), False)):
        with wire_server(sqlite_path=tmp_path / f"{expected}.sqlite3", without=without) as client:
            client.compat.items.insert_many([{"n": n} for n in range(5)])
            plan = json.dumps(client.compat.command("explain", {"find": "items", "filter": {"n": {"$gt": 1}}}))
        assert (reads.SQL_MARKER in plan) is expected


class TestCachedExplainDocuments:
    @staticmethod
    def explains(path: Path, *, cached: bool) -> tuple[list[Any], int]:
        """The ``cxp`` sections of five explains after a first one, and how many packaged documents they loaded."""
        from mongoeco.cxp.exchange import documents

        async def scenario(database: Any, engine: SQLiteEngine) -> tuple[list[Any], int]:
            await fill(database, 5)
            finds = [{"explain": {"find": "items", "filter": {"n": {"$gt": n}}}} for n in range(3)]
            aggregates = [
                {"explain": {"aggregate": "items", "pipeline": [{"$match": {"n": n}}], "cursor": {}}} for n in range(3)
            ]
            first, *rest = finds + aggregates
            await database.command(first)
            with CallCounter(documents, "load_document") as loaded:
                plans = [await database.command(command) for command in rest]
            return [plan["cxp"] for plan in plans], loaded.calls

        mongoeco_compat.apply()
        with pytest.MonkeyPatch.context() as patch:
            if not cached:
                unpatched(patch, documents, "_read")
            return in_process(path, scenario)

    def test_explains_load_no_document_again_with_the_fix(self, tmp_path) -> None:
        sections, loaded = self.explains(tmp_path / "db.sqlite3", cached=True)
        assert loaded == 0
        assert sections == self.explains(tmp_path / "plain.sqlite3", cached=False)[0]

    def test_each_explain_loads_and_validates_the_catalog_without_it(self, tmp_path) -> None:
        assert self.explains(tmp_path / "db.sqlite3", cached=False)[1] >= 5


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
