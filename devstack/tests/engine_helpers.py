"""What the embedded MongoDB's speed tests share: Django's pipelines, an in-process engine, spies, and
the same script run with every fix and without some."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from mongoeco.api import AsyncMongoClient
from mongoeco.engines import SQLiteEngine

from devstack import mongoeco_compat
from devstack.testing import wire_server


def django_pipelines(filter_spec: dict[str, Any], sort: list[tuple[str, int]]) -> list[list[dict[str, Any]]]:
    """The count and page pipelines django-mongodb-backend sends for a filtered, sorted queryset page."""
    count = [
        {"$match": filter_spec},
        {"$facet": {"group": [{"$group": {"__count": {"$sum": {"$cond": {
            "if": {"$in": [{"$type": {"$literal": True}}, ["missing", "null"]]}, "then": None, "else": 1}}},
            "_id": None}}]}},
        {"$addFields": {"__count": {"$getField": {"input": {"$arrayElemAt": ["$group", 0]}, "field": "__count"}},
                        "_id": {"$getField": {"input": {"$arrayElemAt": ["$group", 0]}, "field": "_id"}}}},
        {"$project": {"__count": {"$ifNull": ["$__count", {"$literal": 0}]}}},
    ]  # fmt: skip
    page = [
        {"$match": filter_spec},
        {"$addFields": {name: f"${name}" for name, _ in sort}},
        {"$sort": dict(sort)},
        {"$skip": 24},
        {"$limit": 24},
    ]
    return [count, page]


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


@contextlib.contextmanager
def statements(engine: SQLiteEngine, keep: Callable[[str], object]) -> Iterator[list[str]]:
    """The SQL statements the engine's connection runs while in use, those ``keep`` accepts."""
    kept: list[str] = []
    engine._connection.set_trace_callback(lambda sql: kept.append(sql) if keep(sql) else None)
    try:
        yield kept
    finally:
        engine._connection.set_trace_callback(None)


def with_and_without[T](
    tmp_path: Path, without: tuple[str, ...], script: Callable[[pymongo.MongoClient], T]
) -> tuple[T, T]:
    """``script``'s answers from a SQLite wire server with every fix, and from one without ``without``."""
    with wire_server(sqlite_path=tmp_path / "fast.sqlite3") as fast:
        fixed = script(fast)
    with wire_server(sqlite_path=tmp_path / "plain.sqlite3", without=without) as plain:
        unfixed = script(plain)
    return fixed, unfixed


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
