"""Inserts that do not read the rest of the collection, and one transaction per insert command.

mongoeco checks a new document's ``_id`` against every stored one (numbers have several BSON
spellings: 1 == 1.0 == Decimal128("1")). ObjectIds and strings have one spelling each, so the
exact storage-key lookup mongoeco already does catches every duplicate; the scan is skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId


def _has_exact_key_id(document: Mapping[str, Any]) -> bool:
    return isinstance(document.get("_id"), (ObjectId, str))


def _without_id_scan(method: Callable[..., None], document_position: int) -> Callable[..., None]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        document = args[document_position] if len(args) > document_position else None
        if isinstance(document, Mapping) and _has_exact_key_id(document):
            kwargs["scan_payload_id"] = False
        return method(self, *args, **kwargs)

    return wrapper


def install_insert_without_id_scan() -> None:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    # (db_name, coll_name, document, ...): the document is the third positional argument.
    MemoryEngine._ensure_unique_indexes = _without_id_scan(MemoryEngine._ensure_unique_indexes, 2)
    SQLiteEngine._validate_document_against_unique_indexes = _without_id_scan(
        SQLiteEngine._validate_document_against_unique_indexes, 2
    )


# --- one transaction per insert command ------------------------------------------------------
# mongoeco's `insert` command stores its documents one insert_one at a time, each its own
# transaction with about five commits (document, change outbox, dispatch lease): 12 ms a product,
# most of a demo catalog load. Its insert_many stores a batch in one transaction with the same
# validation, unique checks and change events. An ordered insert command of several documents
# goes through insert_many; from a failing document on, the original loop runs, so the reply
# (inserted count, the write error and its index) is the one mongoeco gives.


def install_batched_inserts() -> None:
    import dataclasses

    from mongoeco.api._async import _database_admin_write_commands as write_commands
    from mongoeco.errors import BulkWriteError
    from mongoeco.types import WriteCommandResult

    service = write_commands.DatabaseAdminWriteCommandService
    original = service.command_insert

    def batchable(self: Any, spec: dict[str, object]) -> bool:
        documents = spec.get("documents")
        return (
            isinstance(documents, list)
            and len(documents) > 1
            and all(isinstance(document, Mapping) for document in documents)
            and spec.get("ordered", True) is True
            and spec.get("bypassDocumentValidation", False) is False
            and write_commands.write_command_acknowledged(spec, dialect=self._admin._mongodb_dialect.key)
        )

    @functools.wraps(original)
    async def command_insert(self: Any, spec: dict[str, object], *, session: Any = None) -> object:
        if not batchable(self, spec):
            return await original(self, spec, session=session)
        name = self._admin._require_collection_name(spec.get("insert"), "insert")
        documents = list(spec["documents"])
        collection = self._admin._database.get_collection(name)
        try:
            await collection.insert_many(documents, ordered=True, session=session)
        except BulkWriteError as error:
            done = int((error.details or {}).get("nInserted", 0))
            rest = await original(self, {**spec, "documents": documents[done:]}, session=session)
            errors = [dataclasses.replace(entry, index=entry.index + done) for entry in rest.write_errors or []]
            return dataclasses.replace(rest, count=rest.count + done, write_errors=errors or None)
        return WriteCommandResult(count=len(documents))

    service.command_insert = command_insert


# --- the memory engine's unique indexes ------------------------------------------------------
# The memory engine checks a compound or partial unique index (Django's unique fields are partial
# indexes; permissions and content types have compound ones) by testing every stored document
# again for each insert: does it fall in the index (its partial filter, compiled and matched
# afresh), and what are its keys. O(n) per insert, most of each test's database flush. A stored
# document's decoded form is one object the engine caches and never changes (a write stores a new
# one), so for those objects both answers are remembered, per document and index. Documents being
# written are not remembered: they are checked afresh.

REMEMBERED = 100_000


class _Memo:
    """Answers about stored documents, by the identity of the objects asked about (kept alive)."""

    def __init__(self) -> None:
        from collections import OrderedDict

        self.stored: OrderedDict[int, object] = OrderedDict()  # id -> a stored document's decoded form
        self.answers: OrderedDict[tuple[int, ...], tuple[tuple[object, ...], Any]] = OrderedDict()

    def is_stored(self, document: object) -> bool:
        return self.stored.get(id(document)) is document

    def remember_stored(self, document: object) -> None:
        self.stored[id(document)] = document
        self.stored.move_to_end(id(document))
        if len(self.stored) > REMEMBERED:
            self.stored.popitem(last=False)

    def answer(self, objects: tuple[object, ...], compute: Callable[[], Any]) -> Any:
        key = tuple(id(item) for item in objects)
        found = self.answers.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], objects, strict=True)):
            self.answers.move_to_end(key)
            return found[1]
        answer = compute()
        self.answers[key] = (objects, answer)
        if len(self.answers) > REMEMBERED:
            self.answers.popitem(last=False)
        return answer


def install_memory_unique_checks() -> None:
    from mongoeco.engines import memory

    memo = _Memo()
    borrow = memory.MemoryEngine._borrow_storage_document
    unique_index_keys = memory.MemoryEngine._unique_index_keys
    in_index = memory.document_in_virtual_index

    @functools.wraps(borrow)
    def borrow_storage_document(self: Any, payload: object, **options: Any) -> Any:
        document = borrow(self, payload, **options)
        if getattr(payload, "decoded_wrapped", None) is document:  # the engine's cached, unchanging form
            memo.remember_stored(document)
        return document

    @functools.wraps(unique_index_keys)
    def remembered_keys(self: Any, document: Any, fields: list[str]) -> Any:
        if not memo.is_stored(document):
            return unique_index_keys(self, document, fields)
        return memo.answer((document, *fields), lambda: frozenset(unique_index_keys(self, document, fields)))

    @functools.wraps(in_index)
    def remembered_in_index(document: Any, index: Any, **options: Any) -> bool:
        if options or not memo.is_stored(document):
            return in_index(document, index, **options)
        return memo.answer((document, index), lambda: in_index(document, index))

    memory.MemoryEngine._borrow_storage_document = borrow_storage_document
    memory.MemoryEngine._unique_index_keys = remembered_keys
    memory.document_in_virtual_index = remembered_in_index


# --- updates and deletes of one _id ----------------------------------------------------------
# The SQLite engine selects an update's or delete's document in SQL that reads ``_id`` out of every
# document's JSON (no index serves it), and when it cannot put the filter in SQL at all (``$gte``
# on an Int64, ``$ne`` on a path through an array: the stock ledger's conditional take) it decodes
# every document and matches each in Python: 0.8 s per stock take at 5,000 products. A filter that
# pins ``_id`` to an ObjectId or a string can only match the document stored under that key (one
# spelling each, as above; no collation), so that one document is read by its key and matched by
# mongoeco's own Python matching, the path it takes for filters SQL cannot answer.


def _pinned_id(filter_spec: object) -> ObjectId | str | None:
    if isinstance(filter_spec, Mapping):
        value = filter_spec.get("_id")
        if isinstance(value, (ObjectId, str)):
            return value
    return None


def _one_document_loader(load_documents: Callable[..., Any], document_id: ObjectId | str) -> Callable[..., Any]:
    engine = load_documents.__self__

    def load_one(db_name: str, coll_name: str) -> Any:
        key = engine._storage_key(document_id)
        yield from engine._load_documents_by_storage_keys(db_name, coll_name, [key]).items()

    return load_one


def _match_in_python(*_args: Any) -> None:
    raise NotImplementedError("the one document is read by its key and matched in Python")


def _narrowed(write: Callable[..., Any], filter_and_collation: Callable[[dict[str, Any]], tuple[Any, Any]]) -> Any:
    @functools.wraps(write)
    def wrapper(**kwargs: Any) -> Any:
        filter_spec, collation = filter_and_collation(kwargs)
        document_id = _pinned_id(filter_spec)
        load_documents = kwargs.get("load_documents")
        if document_id is not None and collation is None and hasattr(load_documents, "__self__"):
            kwargs["load_documents"] = _one_document_loader(load_documents, document_id)
            kwargs["select_first_document_for_plan"] = _match_in_python
        return write(**kwargs)

    return wrapper


def install_id_writes_without_scan() -> None:
    from mongoeco.engines import sqlite

    def update_filter(kwargs: dict[str, Any]) -> tuple[object, object]:
        semantics = kwargs.get("prepared_semantics")
        if semantics is None:  # mongoeco compiles them itself: leave this call alone
            return None, None
        return semantics.filter_spec, semantics.collation

    sqlite._sqlite_update_with_operation = _narrowed(sqlite._sqlite_update_with_operation, update_filter)
    sqlite._sqlite_delete_matching_document = _narrowed(
        sqlite._sqlite_delete_matching_document, lambda kwargs: (kwargs.get("filter_spec"), kwargs.get("collation"))
    )
