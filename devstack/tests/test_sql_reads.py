"""Reads answered in SQL (devstack/mongoeco_compat/sql.py) give the answers mongoeco's Python engine gives.

Two servers hold the same documents: the SQLite engine with every fix, and the memory engine
without the speed-ups (mongoeco's own matching, sorting and counting in Python). Every query runs
on both and must return the same documents in the same order, and the same counts; explain output
shows which path answered. The reference is the memory engine because mongoeco's SQLite engine
without these fixes is itself wrong in places: it matches ``{"stock": {"$gt": 0}}`` against every
stored Int64, zero included.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import Decimal128, Int64, ObjectId

from devstack import mongoeco_compat
from devstack.mongoeco_compat.reads import SQL_MARKER, choose_index
from devstack.mongoeco_compat.sql import compile_query
from devstack.testing import wire_server
from devstack.tests.engine_helpers import django_pipelines

SPEED_UPS = (
    mongoeco_compat.SQL_READS,
    mongoeco_compat.COUNT_SHORTCUT,
    mongoeco_compat.SELF_ASSIGNMENTS,
    mongoeco_compat.FEATURES_FOLLOW_WRITES,
)
CATEGORIES = [ObjectId(f"{n:024x}") for n in range(1, 5)]
START = datetime(2026, 1, 1, 12, 0, 0)
NAMES = ["Classic red shirt", "Urban navy jacket", "Éclair mug", "Kelvin KIT", "plain", "Señor tee", "a.b c"]


def clean_products(count: int = 120) -> list[dict[str, Any]]:
    """Product-like documents whose every value the SQL path decides (ties included on purpose)."""
    rng = random.Random(11)  # noqa: S311 - test data
    documents = []
    for n in range(count):
        attributes: dict[str, Any] = {"size": rng.choice(["S", "M", "L"])}
        if n % 3:
            attributes["colour"] = rng.choice(["red", "navy", None])
        if n % 5 == 0:
            attributes["weight_g"] = rng.choice([80, 120.0, "80"])
        document = {
            "_id": ObjectId(f"{1000 + n:024x}"),
            "category_id": CATEGORIES[n % len(CATEGORIES)],
            "name": f"{NAMES[n % len(NAMES)]} {n % 9}",
            "description": rng.choice(["Made to last.", "Rouge et noir.", "KELVIN sign: \u212a", ""]),
            "price": Decimal128(f"{rng.randint(100, 9999) // (1 + n % 3) / 100:.2f}"),
            "stock": Int64(rng.choice([0, 1, 3, 40, 250])),
            "is_active": n % 7 != 0,
            "tags": ["a", "b"],
            "attributes": attributes,
            "created_at": START + timedelta(hours=rng.randint(0, 30)),
        }
        if n % 11 == 0:
            document["price"] = None
        if n % 13 == 0:
            del document["created_at"]
        documents.append(document)
    return documents


# Filters and sorts of the kinds the shop's pages and API send, and then some.
FILTERS: list[dict[str, Any]] = [
    {},
    {"is_active": True},
    {"is_active": False},
    {"category_id": CATEGORIES[1]},
    {"category_id": {"$in": CATEGORIES[:3]}},
    {"category_id": {"$nin": CATEGORIES[:2]}},
    {"price": {"$gte": Decimal128("20.00")}},
    {"$and": [{"price": {"$lte": Decimal128("35.5")}}, {"price": {"$exists": True}}, {"price": {"$ne": None}}]},
    {"price": {"$gt": 10, "$lt": Decimal128("60")}},
    {"price": None},
    {"stock": {"$gt": 0}},
    {"stock": 0},
    {"stock": {"$gte": Int64(40)}},
    {"stock": {"$in": [1, 3]}},
    {"stock": -5},
    {"name": {"$regex": "red", "$options": "i"}},
    {"$or": [{"name": {"$regex": "KEL", "$options": "i"}}, {"description": {"$regex": "kelvin", "$options": "i"}}]},
    {"name": {"$regex": "éclair", "$options": "i"}},
    {"name": {"$regex": "^Classic"}},
    {"name": {"$regex": "a\\.b"}},
    {"name": {"$gte": "M", "$lt": "Z"}},
    {"attributes.size": "M"},
    {"attributes.colour": None},
    {"attributes.colour": {"$exists": False}},
    {"attributes.colour": {"$ne": "red"}},
    {"attributes.weight_g": 80},
    {"attributes.weight_g": "80"},
    {"created_at": {"$gte": START + timedelta(hours=10)}},
    {"created_at": {"$exists": False}},
    {"$nor": [{"is_active": True}, {"stock": 0}]},
    {"$and": [{"is_active": True}, {"category_id": {"$in": CATEGORIES[:2]}}, {"stock": {"$gt": 0}}]},
    # Presence checks: dropped where a comparison in the same conjunction implies them, kept elsewhere.
    {"$and": [{"stock": {"$gt": 0}}, {"$and": [{"stock": {"$exists": True}}, {"stock": {"$ne": None}}]}]},
    {"$or": [{"$and": [{"price": {"$gte": Decimal128("50")}}, {"price": {"$ne": None}}]}, {"stock": 0}]},
    {"$nor": [{"$and": [{"attributes.colour": {"$gte": "n"}}, {"attributes.colour": {"$exists": True}}]}]},
    {"$and": [{"attributes.colour": {"$in": ["red", None]}}, {"attributes.colour": {"$ne": None}}]},
    {"$and": [{"price": {"$exists": True}}, {"price": {"$ne": None}}]},
    {"$and": [{"attributes.colour": {"$regex": "e"}}, {"attributes.colour": {"$exists": True, "$ne": None}}]},
]
SORTS: list[list[tuple[str, int]] | None] = [
    None,
    [("created_at", -1), ("_id", -1)],
    [("price", 1), ("_id", 1)],
    [("price", -1), ("_id", 1)],
    [("name", 1), ("_id", 1)],
    [("attributes.colour", 1), ("_id", 1)],
    [("is_active", -1), ("stock", 1), ("_id", 1)],
    [("category_id", 1), ("_id", -1)],
]
INDEXES = [[("category_id", 1), ("price", 1)], [("category_id", 1), ("created_at", -1)], [("price", 1)], [("name", 1)]]


def load(client: pymongo.MongoClient, name: str, documents: list[dict[str, Any]]) -> pymongo.collection.Collection:
    collection = client.compat[name]
    for keys in INDEXES:
        collection.create_index(keys)
    collection.insert_many(documents)
    return collection


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[pymongo.MongoClient, pymongo.MongoClient]]:
    directory: Path = tmp_path_factory.mktemp("sql-reads")
    with (
        wire_server(sqlite_path=directory / "fast.sqlite3") as fast,
        wire_server(without=SPEED_UPS) as plain,
    ):
        for client in (fast, plain):
            load(client, "products", clean_products())
        yield fast, plain


def explained(client: pymongo.MongoClient, collection: str, filter_spec: dict[str, Any], sort: Any) -> str:
    command: dict[str, Any] = {"find": collection, "filter": filter_spec}
    if sort:
        command["sort"] = dict(sort)
    return json.dumps(client.compat.command("explain", command), default=str)


def sorted_answers(client: pymongo.MongoClient, collection: str, filter_spec: dict[str, Any], sort: Any) -> dict:
    found = client.compat[collection]
    ordered = sort or [("_id", 1)]
    return {
        "all": list(found.find(filter_spec, sort=ordered)),
        "page": list(found.find(filter_spec, sort=ordered, skip=5, limit=7)),
    }


def unsorted_answers(client: pymongo.MongoClient, collection: str, filter_spec: dict[str, Any]) -> dict[str, Any]:
    found = client.compat[collection]
    return {
        "count": found.count_documents(filter_spec),
        "unsorted": sorted(str(document["_id"]) for document in found.find(filter_spec)),
    }


def answers(client: pymongo.MongoClient, collection: str, filter_spec: dict[str, Any], sort: Any) -> dict[str, Any]:
    return sorted_answers(client, collection, filter_spec, sort) | unsorted_answers(client, collection, filter_spec)


FILTER_IDS = [json.dumps(f, default=str)[:60] for f in FILTERS]


@pytest.mark.parametrize("filter_spec", FILTERS, ids=FILTER_IDS)
@pytest.mark.parametrize("sort", SORTS, ids=[str(s) for s in SORTS])
def test_sql_answers_as_mongoeco_does(servers, filter_spec: dict[str, Any], sort: Any) -> None:
    fast, plain = servers
    assert compile_query(filter_spec, sort) is not None, "expected inside the SQL subset"
    assert sorted_answers(fast, "products", filter_spec, sort) == sorted_answers(plain, "products", filter_spec, sort)
    assert SQL_MARKER in explained(fast, "products", filter_spec, sort)


@pytest.mark.parametrize("filter_spec", FILTERS, ids=FILTER_IDS)
def test_sql_counts_and_unsorted_reads_as_mongoeco_does(servers, filter_spec: dict[str, Any]) -> None:
    # The count and the unsorted find do not depend on a sort: once for each filter.
    fast, plain = servers
    assert unsorted_answers(fast, "products", filter_spec) == unsorted_answers(plain, "products", filter_spec)


PROJECTIONS = [
    {"name": 1},
    {"attributes.size": 1, "_id": 0},
    {"price": True, "created_at": 1, "is_active": 1},
    {"_id": 0},
    {"name": 0},
    {"missing": 1},
]


@pytest.mark.parametrize("projection", PROJECTIONS, ids=[json.dumps(p) for p in PROJECTIONS])
def test_projections_answer_as_mongoeco_does(servers, projection: dict[str, Any]) -> None:
    fast, plain = servers
    for filter_spec in FILTERS[:6]:
        sort = [("price", 1), ("_id", 1)]
        found = [list(client.compat.products.find(filter_spec, projection, sort=sort)) for client in (fast, plain)]
        assert found[0] == found[1]
        assert [list(document) for document in found[0]] == [list(document) for document in found[1]], "field order"


def test_comparisons_stay_within_the_operand_type(servers) -> None:
    """MongoDB's type bracketing: {"$gte": 100} matches numbers only. mongoeco's Python engine also
    matches the string "80" (strings sort after numbers); the SQL path gives MongoDB's answer."""
    fast, plain = servers
    query = {"attributes.weight_g": {"$gte": 100}}
    numbers = {
        str(document["_id"])
        for document in clean_products()
        if isinstance(document["attributes"].get("weight_g"), int | float) and document["attributes"]["weight_g"] >= 100
    }
    assert numbers
    assert answers(fast, "products", query, None)["unsorted"] == sorted(numbers)
    assert SQL_MARKER in explained(fast, "products", query, None)
    assert set(answers(plain, "products", query, None)["unsorted"]) > numbers, "mongoeco now brackets types"


@pytest.mark.parametrize("filter_spec", FILTERS[:15], ids=[json.dumps(f, default=str)[:60] for f in FILTERS[:15]])
def test_django_pipelines_answer_as_mongoeco_does(servers, filter_spec: dict[str, Any]) -> None:
    fast, plain = servers
    for pipeline in django_pipelines(filter_spec, [("price", 1), ("_id", 1)]):
        assert list(fast.compat.products.aggregate(pipeline)) == list(plain.compat.products.aggregate(pipeline))


# Values the SQL path does not decide: the query goes to mongoeco, and answers stay the same.
UNDECIDED = [
    {"attributes": {"size": ["M", "L"]}},  # MongoDB matches "M" against the array's elements
    {"attributes": [{"size": "M"}, {"size": "S"}]},  # an array on the way to the field
    {"attributes": {"size": {"label": "M"}}},  # an embedded document
    {"price": 12.5},  # a fractional double next to decimals
    {"price": Decimal128("1.0000000000000000000000001")},  # beyond 15 significant digits
    {"stock": Int64(2**60)},  # beyond 2**53
    {"name": {"$mongoeco": {"type": "int64", "value": 5}}},  # a document that looks like a tag
]


@pytest.mark.parametrize("odd", UNDECIDED, ids=[json.dumps(o, default=str)[:50] for o in UNDECIDED])
def test_undecided_values_leave_the_query_to_mongoeco(servers, odd: dict[str, Any]) -> None:
    fast, plain = servers
    name = "odd_" + str(UNDECIDED.index(odd))
    documents = [*clean_products(30), {"_id": ObjectId(f"{9000:024x}"), "is_active": True, **odd}]
    for client in (fast, plain):
        load(client, name, documents)
    field = next(iter(odd))
    probe = {f"{field}.size" if field == "attributes" else field: {"$exists": True}}
    for filter_spec in [probe, {"is_active": True}, *FILTERS[1:8]]:
        for sort in SORTS[:4]:
            assert answers(fast, name, filter_spec, sort) == answers(plain, name, filter_spec, sort)
    assert SQL_MARKER not in explained(fast, name, probe, None)
    assert SQL_MARKER in explained(fast, name, {"is_active": True}, None), "other paths still answered in SQL"


def test_the_undecided_check_follows_writes(servers) -> None:
    fast, plain = servers
    documents = clean_products(40)
    for client in (fast, plain):
        load(client, "writes", documents)
    query = {"attributes.size": "M"}

    def same() -> bool:
        return answers(fast, "writes", query, None) == answers(plain, "writes", query, None)

    assert same()
    assert SQL_MARKER in explained(fast, "writes", query, None)
    for client in (fast, plain):  # an insert makes the path undecided
        client.compat.writes.insert_one({"_id": "array", "attributes": {"size": ["M"]}})
    assert same()
    assert SQL_MARKER not in explained(fast, "writes", query, None)
    for client in (fast, plain):  # and a delete decided again
        client.compat.writes.delete_one({"_id": "array"})
    assert same()
    assert SQL_MARKER in explained(fast, "writes", query, None)
    target = documents[3]["_id"]
    for client in (fast, plain):  # an update, both ways
        client.compat.writes.update_one({"_id": target}, {"$set": {"attributes.size": ["M", "S"]}})
    assert same()
    assert SQL_MARKER not in explained(fast, "writes", query, None)
    for client in (fast, plain):
        client.compat.writes.update_one({"_id": target}, {"$set": {"attributes.size": "S"}})
    assert same()
    assert SQL_MARKER in explained(fast, "writes", query, None)


def test_writes_pick_the_same_documents(servers) -> None:
    """Updates and deletes find their documents through the same read plans. Which of several
    matches an unsorted update_one changes is up to the server (MongoDB does not say): each write
    here either names its documents fully, or sorts, or changes every match."""
    fast, plain = servers
    # Plain int stock: an update's first match is mongoeco's own lookup, which does not match an
    # int32 filter against a stored Int64 (test_mongoeco_compat.py); the reference does.
    documents = [{**document, "stock": int(document["stock"])} for document in clean_products(60)]
    for client in (fast, plain):
        load(client, "changed", documents)
    for n, filter_spec in enumerate(FILTERS[1:18]):
        one = {"$and": [{"_id": documents[(7 * n) % len(documents)]["_id"]}, filter_spec]}
        for client in (fast, plain):
            changed = client.compat.changed
            changed.update_one(one, {"$set": {"touched": n}, "$push": {"log": n}})
            changed.update_many(filter_spec, {"$inc": {"hits": 1}})
            changed.find_one_and_update(filter_spec, {"$set": {"last": n}}, sort=[("price", -1), ("_id", 1)])
            changed.delete_many({"$and": [filter_spec, {"stock": 3}, {"hits": {"$gte": 3}}]})
        found = [list(client.compat.changed.find(sort=[("_id", 1)])) for client in (fast, plain)]
        assert found[0] == found[1], json.dumps(filter_spec, default=str)


def test_presence_checks_a_condition_implies_are_not_compiled() -> None:
    # What django-mongodb-backend sends for price__lte: each check would read the price once more per document.
    bound = {"price": {"$lte": Decimal128("35.5")}}
    django_lte = {"$and": [bound, {"price": {"$exists": True}}, {"price": {"$ne": None}}]}
    alone = compile_query({"$and": [bound]}, None)
    assert compile_query(django_lte, None).where == alone.where
    # null is among the values $in accepts, so {"$ne": null} still narrows it and stays.
    narrowed = compile_query({"$and": [{"n": {"$in": [1, None]}}, {"n": {"$ne": None}}]}, None)
    assert narrowed.where != compile_query({"$and": [{"n": {"$in": [1, None]}}]}, None).where
    # Without a comparison on the same path, the checks are the whole condition.
    assert compile_query({"price": {"$exists": True}}, None).where != "1"


def test_a_bounded_read_takes_the_index_that_holds_its_range() -> None:
    # A listing's count: SQLite answers category and price from (category_id, price) alone; from
    # another index led by category_id it reads and parses each of the category's documents.
    companions = [
        ("a_category_price", (("category_id", 1), ("price", 1))),
        ("b_category_created", (("category_id", 1), ("created_at", -1))),
        ("c_category", (("category_id", 1),)),
        ("d_name", (("name", 1),)),
    ]
    pinned = [{"is_active": True}, {"category_id": {"$in": [ObjectId(), ObjectId()]}}]
    bounded = {"$and": [*pinned, {"price": {"$lte": Decimal128("50")}}]}
    assert choose_index(companions, compile_query(bounded, None)).startswith("a_")
    # A page comes out of an index in the sort's order before one that only bounds it.
    assert choose_index(companions, compile_query(bounded, [("created_at", -1)])).startswith("b_")
    assert choose_index(companions, compile_query(bounded, [("price", -1)])).startswith("a_")
    # A bound on a path no index follows the pinned prefix with changes nothing.
    assert compile_query({"$and": [*pinned, {"stock": {"$gt": 0}}]}, None).ranged == {"stock"}
    # Nothing pinned: only an index in the sort's order is chosen; SQLite picks for anything else.
    assert choose_index(companions, compile_query({"price": {"$gt": Decimal128("1")}}, [("name", 1)])) == "d_name"
    assert choose_index(companions, compile_query({"price": {"$gt": Decimal128("1")}}, [("stock", 1)])) is None
    # A bound inside $or is not a bound on the whole query.
    either = {"$or": [{"price": {"$lte": Decimal128("5")}}, {"stock": 0}]}
    assert compile_query({"$and": [*pinned, either]}, None).ranged == set()


@pytest.mark.parametrize(
    ("filter_spec", "sort"),
    [
        ({"name": {"$not": {"$regex": "a"}}}, None),
        ({"$expr": {"$gt": ["$stock", 1]}}, None),
        ({"tags": {"$size": 2}}, None),
        ({"attributes": {"size": "M"}}, None),
        ({"price": {"$gt": 1.5}}, None),
        ({"stock": {"$gt": 2**60}}, None),
        ({"name": {"$regex": "a", "$options": "q"}}, None),
        ({"name": "x"}, [("score", {"$meta": "textScore"})]),
        ({"field-with-dash": 1}, None),
        ({"tags.0": "a"}, None),
    ],
)
def test_anything_else_is_left_to_mongoeco(filter_spec: dict[str, Any], sort: Any) -> None:
    assert compile_query(filter_spec, sort) is None
