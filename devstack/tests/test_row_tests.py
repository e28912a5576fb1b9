"""The followed flags' row tests in Python (changes.py ``RowTest``) answer as their SQL does.

After each write, the flags a collection's reads rely on ("some document holds an undecided value
at ``price``", mongoeco's "some ``slug`` is an array") are tested against the written rows. The
Python form of each test reads the stored JSON once; the SQL form is the reference. Both are run
here over the JSON mongoeco itself stored for every kind of value (inserted, then rewritten by an
update, which SQLite renders), and over hand-written tag texts mongoeco would not write.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bson import DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId
from bson.binary import Binary
from mongoeco.core.bson_scalars import BsonDouble, BsonInt32
from mongoeco.core.json_compat import json_loads
from mongoeco.engines import SQLiteEngine

from devstack.mongoeco_compat import changes
from devstack.mongoeco_compat.changes import RowTest, feature_test, undecided_test
from devstack.tests.engine_helpers import in_process, statements

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**62,
    1.0,
    -0.0,
    1.5,
    1e16,
    1e300,
    float(2**53),
    "",
    "text",
    "Señor \u212a",
    'a "quoted" \\ back',
    [],
    [1, "M"],
    [{"size": "M"}],
    {},
    {"size": "M"},
    {"size": {"label": "M"}},
    {"$mongoeco": {"type": "int64", "value": 5}},  # a user document that looks like a tag
    ObjectId("65f000000000000000000001"),
    datetime(2026, 1, 1, 12, 30, 15, 250000),
    Int64(5),
    Int64(2**60),
    Int64(-(2**53)),
    BsonInt32(7),
    Decimal128("12.50"),
    Decimal128("-0.0001"),
    Decimal128("123456789012345"),
    Decimal128("1234567890123456"),
    Decimal128("1.0000000000000000000000001"),
    Decimal128("1E+5"),
    Decimal128("NaN"),
    Decimal128("-Infinity"),
    DBRef("shop_product", ObjectId("65f000000000000000000002")),
    Binary(b"\x00\x01"),
    MinKey(),
    MaxKey(),
]
# Values the Python tests leave to SQLite: a double tag (mongoeco writes one for BsonDouble only).
LEFT_TO_SQL = [BsonDouble(2.0), BsonDouble(2.5)]

# Tag-like texts mongoeco does not write, each next to the SQL's own view of it.
HAND_WRITTEN = [
    '{"v":{"$mongoeco":{"value":5,"type":"int64"}}}',
    '{"v":{"$mongoeco":{"type":"int64","value":"5"}}}',
    '{"v":{"$mongoeco":{"type":"int64","value":5,"extra":1}}}',
    '{"v":{"$mongoeco":{"type":"int64","value":5},"x":1}}',
    '{"v":{"$mongoeco":{"type":"int64","value":true}}}',
    '{"v":{"$mongoeco":{"type":"int64","value":null}}}',
    '{"v":{"$mongoeco":{"type":"objectid","value":"caf\\u00e9"}}}',
    '{"v":{"$mongoeco":{"type":"objectid","value":{"x":1}}}}',
    '{"v":{"$mongoeco":{"type":"int32","value":99999999999999999999}}}',
    '{"v":{"$mongoeco":{"type":"double","value":1.5}}}',
    '{"v":{"$mongoeco":{"type":"decimal128","value":"12.50"}}}',
    '{"v":{"$mongoeco":{"type":"decimal128","value":12}}}',
    '{"v":{"$mongoeco":{"type":7,"value":1}}}',
    '{"v":{"$mongoeco":5}}',
    '{"v":{"$mongoeco":null}}',
    '{"a":{"$mongoeco":{"type":"dict","value":{"v":1}}}}',
    '{"a":{"$mongoeco":1,"v":2}}',
    '{"a":5}',
    '{"a":null}',
    '{"v":1e400}',
]
PATHS = ["v", "a.v", "a.b.v", "a", "arr", "_id", "missing"]
FEATURES = [
    "top_level_array:v",
    "top_level_array:a.v",
    "contains_real_numeric:v",
    "contains_real_numeric:a.v",
    "traverses_array:a.v",
    "traverses_array:a.b.v",
    "traverses_array:arr.0.v",
    "tagged_type:v:decimal128_public",
    "tagged_type:a.v:int64",
    "tagged_type:arr.0:objectid",
    "traverses_dbref:a.v",
    "traverses_dbref:v.$id",
    "comparison_mismatch:v:number",
    "comparison_mismatch:a.v:string",
    "comparison_mismatch:arr.0:bool",
]


def shapes(value: Any) -> list[dict[str, Any]]:
    """``value`` at the paths the tests read, and on the way to them."""
    return [{"v": value}, {"a": {"v": value}}, {"a": [{"v": value}]}, {"a": {"b": {"v": value}}}, {"a": value}]


def stored_texts(path: Path, values: list[Any]) -> list[str]:
    """The JSON mongoeco stores for ``values``: as inserted, and as an update rewrote it in SQLite."""

    async def scenario(database: Any, engine: SQLiteEngine) -> list[str]:
        items = database.get_collection("items")
        documents = [{"n": n, **shape, "arr": [value]} for n, value in enumerate(values) for shape in shapes(value)]
        await items.insert_many(documents)
        await items.update_many({}, {"$set": {"touched": 1}})
        for n, value in enumerate(values):
            await items.insert_one({"n": -1 - n, "v": 0})
            await items.update_one({"n": -1 - n}, {"$set": {"v": value, "a.v": value}})
        rows = engine._connection.execute("SELECT document FROM documents WHERE coll_name = 'items'")
        return [text for (text,) in rows]

    return in_process(path, scenario)


def sql_answer(connection: sqlite3.Connection, test: RowTest, text: str) -> bool:
    query = f"SELECT CASE WHEN ({test.sql}) THEN 1 ELSE 0 END FROM (SELECT ? AS document)"  # noqa: S608 - our SQL
    return bool(connection.execute(query, (text,)).fetchone()[0])


def compare(texts: list[str], tests: dict[str, RowTest]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (test, text) pairs where Python and SQL differ, and those Python leaves to SQL."""
    connection = sqlite3.connect(":memory:")
    differ, left = [], []
    for text in texts:
        document = json_loads(text)
        for name, test in tests.items():
            assert test.in_python is not None, name
            answer = test.in_python(document)
            if answer is None:
                left.append((name, text))
            elif answer != sql_answer(connection, test, text):
                differ.append((name, text))
    return differ, left


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return stored_texts(tmp_path_factory.mktemp("row-tests") / "db.sqlite3", VALUES)


def test_undecided_values_are_found_as_the_sql_finds_them(stored: list[str]) -> None:
    differ, left = compare(stored, {path: undecided_test(path) for path in PATHS})
    assert differ == []
    assert left == [], "every value mongoeco stores for the app's types is answered in Python"
    assert len(stored) == 6 * len(VALUES)


def test_mongoecos_flags_are_found_as_its_sql_finds_them(stored: list[str]) -> None:
    tests = {feature: feature_test(feature) for feature in FEATURES}
    differ, left = compare([*stored, *HAND_WRITTEN], tests)
    assert differ == []
    assert left == []


def test_odd_tags_are_answered_as_the_sql_answers_or_left_to_it(tmp_path: Path) -> None:
    texts = [*HAND_WRITTEN, *stored_texts(tmp_path / "db.sqlite3", LEFT_TO_SQL)]
    differ, left = compare(texts, {path: undecided_test(path) for path in PATHS})
    assert differ == []
    left_texts = {text for _path, text in left}
    written_by_mongoeco = texts[len(HAND_WRITTEN) :]
    assert left_texts - set(written_by_mongoeco) == {
        HAND_WRITTEN[1],  # an Int64 tag holding text
        HAND_WRITTEN[4],  # true: SQLite reads it back as 1
        HAND_WRITTEN[5],  # null: the SQL's comparison is NULL
        HAND_WRITTEN[6],  # text JSON escapes, which SQLite writes back unescaped
        HAND_WRITTEN[7],  # a document as the value
        HAND_WRITTEN[8],  # beyond 2**63
        HAND_WRITTEN[9],  # a double tag
        HAND_WRITTEN[11],  # a decimal tag holding a number
    }
    assert left_texts & set(written_by_mongoeco), "a double tag at a tested path"
    assert all('"double"' in text for text in left_texts & set(written_by_mongoeco))


def test_a_path_python_does_not_read_as_sqlite_does_has_only_sql() -> None:
    assert feature_test("top_level_array:a[0]").in_python is None
    assert feature_test("top_level_array:caf\u00e9").in_python is None
    assert feature_test("top_level_array:a.0.b").in_python is not None


class TestFollowedFlagsInPython:
    """A status change of an order-like document, with its 25 top-level paths followed."""

    @staticmethod
    def json_scans_by_a_status_change(path: Path) -> tuple[int, list[bool | None]]:
        async def scenario(database: Any, engine: SQLiteEngine) -> tuple[int, list[bool | None]]:
            from devstack.mongoeco_compat.reads import _learn_undecided

            fields = {f"field_{n}": n for n in range(24)}
            items = database.get_collection("items")
            await items.insert_many([{"_id": n, "status": "paid", **fields} for n in range(20)])
            paths = {"status", *fields}
            _learn_undecided(engine, "compat", "items", paths)
            with statements(engine, lambda sql: "MAX(CASE WHEN" in sql) as scans:
                await items.update_one({"_id": 3}, {"$set": {"status": "shipped", "field_5": [1]}})
                await items.update_one({"_id": 4}, {"$set": {"status": "shipped", "field_6": 1.5}})
            flags = changes.state(engine).undecided[("compat", "items")]
            return len(scans), [flags.get(name) for name in ("status", "field_5", "field_6", "field_7")]

        return in_process(path, scenario)

    def test_the_written_rows_are_tested_without_sql_json_scans(self, tmp_path) -> None:
        scans, flags = self.json_scans_by_a_status_change(tmp_path / "db.sqlite3")
        assert scans == 0
        # field_5 turned true with the first write, and is unknown after the second (whose row does not
        # show it; another row may): the next read that names it asks the whole collection.
        assert flags == [False, None, True, False]

    def test_without_the_python_tests_each_write_scans_in_sql(self, tmp_path, monkeypatch) -> None:
        monkeypatch.setattr(changes, "undecided_test", lambda path: RowTest(undecided_test(path).sql))
        scans, flags = self.json_scans_by_a_status_change(tmp_path / "db.sqlite3")
        assert scans == 2
        assert flags == [False, None, True, False]
