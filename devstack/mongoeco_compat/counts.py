"""Counting aggregations answered with the engine's count instead of every document in Python.

django-mongodb-backend counts with ``[{"$match": ...}, {"$facet": {"group": [{"$group": {"_id": None,
"__count": {"$sum": <constant>}}}]}}, {"$addFields": ...}, {"$project": ...}]`` (pymongo's
count_documents with ``$group`` alone). mongoeco decodes every matching document and runs the
``$group`` over them in Python: a third of a listing's time. A ``$group`` whose ``_id`` and
``$sum`` operands are constants outputs, for n input documents, one document with each sum n times
the constant (none when n is 0), so the shortcut counts the ``$match`` with mongoeco's own
``count_documents`` and runs the stages after the ``$group`` on that one document.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

_DOCUMENT_STAGES = ("$addFields", "$set", "$project", "$unset")
_NOT_CONSTANT_OPERATORS = ("$rand", "$function", "$accumulator", "$meta")


def is_constant(expression: Any) -> bool:
    """True when ``expression`` reads no field and no variable (so it is the same for every document)."""
    if isinstance(expression, str):
        return not expression.startswith("$")
    if isinstance(expression, list):
        return all(is_constant(item) for item in expression)
    if isinstance(expression, Mapping):
        if set(expression) == {"$literal"}:
            return True
        return all(
            isinstance(key, str) and key not in _NOT_CONSTANT_OPERATORS and is_constant(value)
            for key, value in expression.items()
        )
    return True


def _constant_sum_group(stage: Any) -> Mapping[str, Any] | None:
    if not isinstance(stage, Mapping) or set(stage) != {"$group"}:
        return None
    spec = stage["$group"]
    if not isinstance(spec, Mapping) or "_id" not in spec or not is_constant(spec["_id"]):
        return None
    for name, accumulator in spec.items():
        if name == "_id":
            continue
        if not (isinstance(accumulator, Mapping) and set(accumulator) == {"$sum"} and is_constant(accumulator["$sum"])):
            return None
    return spec


def count_shape(pipeline: Any) -> tuple[dict[str, Any], Any, list[Any]] | None:
    """(the ``$match`` filter, the counting stage, the stages after it), or None for another pipeline."""
    if not isinstance(pipeline, list):
        return None
    filters = []
    position = 0
    while (
        position < len(pipeline) and isinstance(pipeline[position], Mapping) and set(pipeline[position]) == {"$match"}
    ):
        filters.append(pipeline[position]["$match"])
        position += 1
    if position >= len(pipeline):
        return None
    stage, rest = pipeline[position], pipeline[position + 1 :]
    if _constant_sum_group(stage) is None:
        facet = stage.get("$facet") if isinstance(stage, Mapping) and set(stage) == {"$facet"} else None
        if not isinstance(facet, Mapping) or not facet:
            return None
        for branch in facet.values():
            if not (isinstance(branch, list) and len(branch) == 1 and _constant_sum_group(branch[0]) is not None):
                return None
    for later in rest:
        if not (isinstance(later, Mapping) and len(later) == 1 and next(iter(later)) in _DOCUMENT_STAGES):
            return None
        if "$$" in repr(later):
            return None
    matched: dict[str, Any] = {} if not filters else filters[0] if len(filters) == 1 else {"$and": filters}
    return matched, stage, rest


def _group_output(spec: Mapping[str, Any], count: int, dialect: Any) -> list[dict[str, Any]] | None:
    """What ``$group`` (constant ``_id`` and ``$sum``s) outputs for ``count`` documents; None if unsure."""
    from mongoeco.core.aggregation import apply_pipeline

    (one,) = apply_pipeline([{}], [{"$group": dict(spec)}], dialect=dialect)
    sums = {name: value for name, value in one.items() if name != "_id"}
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in sums.values()):
        return None
    if count == 0:
        return []
    return [{name: value * count if name != "_id" else value for name, value in one.items()}]


def counted(stage: Mapping[str, Any], count: int, dialect: Any) -> list[dict[str, Any]] | None:
    """The counting stage's output for ``count`` input documents (None when it cannot be sure)."""
    if "$group" in stage:
        return _group_output(stage["$group"], count, dialect)
    result: dict[str, Any] = {}
    for name, (group,) in stage["$facet"].items():
        output = _group_output(group["$group"], count, dialect)
        if output is None:
            return None
        result[name] = output
    return [result]


def install() -> None:
    from mongoeco.api._async._database_admin_read_commands import DatabaseAdminReadCommandService
    from mongoeco.core.aggregation import apply_pipeline
    from mongoeco.core.codec import DocumentCodec
    from mongoeco.types import CommandCursorResult

    original = DatabaseAdminReadCommandService.execute_aggregate_command

    @functools.wraps(original)
    async def execute_aggregate_command(self: Any, collection_name: str, operation: Any, *, session: Any = None) -> Any:
        shape = count_shape(operation.pipeline)
        bindings = getattr(operation.let, "bindings", operation.let)  # user variables of a `let`
        if shape is None or operation.collation is not None or operation.hint is not None or bindings:
            return await original(self, collection_name, operation, session=session)
        matched, stage, rest = shape
        collection = self._admin._database.get_collection(collection_name)
        count = await collection.count_documents(matched, session=session, max_time_ms=operation.max_time_ms)
        documents = counted(stage, count, operation.dialect)
        if documents is None:
            return await original(self, collection_name, operation, session=session)
        documents = apply_pipeline(documents, rest, dialect=operation.dialect)
        return CommandCursorResult(
            namespace=f"{self._admin._db_name}.{collection_name}",
            first_batch=[DocumentCodec.to_public(document) for document in documents],
        )

    DatabaseAdminReadCommandService.execute_aggregate_command = execute_aggregate_command
