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
