"""Rewrites of incoming commands, and the ``$not`` expression operator mongoeco lacks.

- ``buildinfo``: pymongo's server_info() sends the lowercase spelling; mongoeco only knows the other.
- Nested field specs (``{"$project": {"a": {"b": 1}}}``) become dotted paths: mongoeco mishandles
  the nested form silently (wrong values, ignored ordering); MongoDB treats both spellings the same.
- ``$addFields`` stages that set fields to themselves (``{"price": "$price"}``, which
  django-mongodb-backend emits before every ``$sort``) are dropped: they change no document, and
  mongoeco stops pushing ``$sort``/``$skip``/``$limit`` down to its engine at any stage it does not
  know, so a listing sorted and paged all matching documents in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

# pymongo's server_info() sends the lowercase spelling; mongoeco only knows the other.
COMMAND_ALIASES = {"buildinfo": "buildInfo"}

_FIELD_SPEC_STAGES = ("$project", "$addFields", "$set")
_NESTED_PIPELINE_STAGES = ("$lookup", "$unionWith")
_SELF_ASSIGNING_STAGES = ("$addFields", "$set")

# Which rewrites run; set by install_rewrites().
_enabled = {"alias": False, "flatten": False, "drop_self_assignments": False}
_patched: list[bool] = []


# --- rewriting incoming commands --------------------------------------------


def rewrite_command(
    body: dict[str, Any], *, alias: bool = True, flatten: bool = True, drop_self_assignments: bool = True
) -> dict[str, Any]:
    """Return ``body`` with the command name aliased, nested field specs flattened, no-op stages dropped."""
    if not body:
        return body
    name = next(iter(body))
    if alias and name in COMMAND_ALIASES:
        body = {(COMMAND_ALIASES[name] if key == name else key): value for key, value in body.items()}
        name = COMMAND_ALIASES[name]
    if name == "explain" and isinstance(body.get("explain"), Mapping):
        # What explain shows is then the plan of the command as it runs.
        inner = rewrite_command(
            dict(body["explain"]), alias=False, flatten=flatten, drop_self_assignments=drop_self_assignments
        )
        return {**body, "explain": inner}
    if name == "aggregate" and isinstance(body.get("pipeline"), list):
        pipeline = body["pipeline"]
        if drop_self_assignments:
            pipeline = without_self_assignments(pipeline)
        if flatten:
            pipeline = rewrite_pipeline(pipeline)
        body = {**body, "pipeline": pipeline}
    elif flatten and name == "find" and isinstance(body.get("projection"), Mapping):
        body = {**body, "projection": flatten_field_spec(body["projection"])}
    return body


def without_self_assignments(pipeline: list[Any]) -> list[Any]:
    """Drop top-level ``$addFields``/``$set`` stages whose every field is set to itself.

    ``{"price": "$price"}`` leaves a document as it was: an existing field keeps its value and
    place, a missing one stays missing. Dotted names are kept (they set into arrays element-wise).
    """
    return [stage for stage in pipeline if not _assigns_only_itself(stage)]


def _assigns_only_itself(stage: Any) -> bool:
    if not isinstance(stage, Mapping) or len(stage) != 1:
        return False
    ((operator, spec),) = stage.items()
    return (
        operator in _SELF_ASSIGNING_STAGES
        and isinstance(spec, Mapping)
        and bool(spec)
        and all(
            isinstance(key, str) and key and "." not in key and not key.startswith("$") and value == f"${key}"
            for key, value in spec.items()
        )
    )


def rewrite_pipeline(pipeline: list[Any]) -> list[Any]:
    """Flatten nested field specs in every stage, including sub-pipelines."""
    return [_rewrite_stage(stage) for stage in pipeline]


def _rewrite_stage(stage: Any) -> Any:
    if not isinstance(stage, Mapping) or len(stage) != 1:
        return stage
    ((operator, spec),) = stage.items()
    if operator in _FIELD_SPEC_STAGES and isinstance(spec, Mapping):
        return {operator: flatten_field_spec(spec)}
    if operator in _NESTED_PIPELINE_STAGES and isinstance(spec, Mapping) and isinstance(spec.get("pipeline"), list):
        return {operator: {**spec, "pipeline": rewrite_pipeline(spec["pipeline"])}}
    if operator == "$facet" and isinstance(spec, Mapping):
        return {
            operator: {
                key: rewrite_pipeline(value) if isinstance(value, list) else value for key, value in spec.items()
            }
        }
    return stage


def flatten_field_spec(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Turn ``{"a": {"b": 1}}`` into ``{"a.b": 1}``; operator expressions stay whole.

    mongoeco mishandles the nested form silently (wrong values, ignored
    ordering); MongoDB treats both spellings the same.
    """
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        path = f"{prefix}{key}"
        if _is_nested_field_spec(value):
            flat.update(flatten_field_spec(value, prefix=f"{path}."))
        else:
            flat[path] = value
    return flat


def _is_nested_field_spec(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and not any(isinstance(key, str) and key.startswith("$") for key in value)
    )


def install_rewrites(*, alias: bool, flatten: bool, drop_self_assignments: bool) -> None:
    """Rewrite every incoming command (each rewrite on or off)."""
    from mongoeco.wire import executor

    _enabled.update(alias=alias, flatten=flatten, drop_self_assignments=drop_self_assignments)
    if _patched:
        return
    _patched.append(True)
    original = executor.build_request_context

    @functools.wraps(original)
    def build_request_context(body: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return original(rewrite_command(body, **_enabled), *args, **kwargs)

    # Patched where it is looked up, so the rewrite runs before mongoeco's
    # command-name check rejects the lowercase alias.
    executor.build_request_context = build_request_context


# --- the $not expression operator -----------------------------------------


def not_operator(document: Any, args: Any, variables: Any, dialect: Any, context: Any) -> bool:
    """``{"$not": [expr]}``: true when ``expr`` is falsy in MongoDB's sense."""
    (expression,) = context.require_expression_args("$not", args, 1, 1)
    value = context.evaluate_expression_with_missing(document, expression, variables)
    return not is_truthy(value, missing=context.missing_sentinel)


def is_truthy(value: Any, *, missing: object) -> bool:
    """MongoDB's aggregation truthiness: false, null, 0 and missing are false."""
    if value is missing or value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    return True


def install_not_operator() -> None:
    from mongoeco.core.aggregation import register_aggregation_expression_operator

    register_aggregation_expression_operator("$not", not_operator)


# --- $bsonSize of Decimal128 and Int64 -------------------------------------
# mongoeco sizes values by type for $bsonSize, which listDatabases uses for each database's size:
# it has no size for Decimal128 (every price and total here), so `show dbs` in mongosh,
# Compass and pymongo's list_database_names() failed against `make run`'s data, and it sizes an
# Int64 holding a small number as an int32. BSON stores a Decimal128 in 16 bytes and an Int64 in 8.


def bson_value_size(original: Any) -> Any:
    from bson import Decimal128, Int64
    from mongoeco._types import Decimal128 as EcoDecimal128
    from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64

    sizes = {Decimal128: 16, EcoDecimal128: 16, BsonDecimal128: 16, Int64: 8, BsonInt64: 8, BsonDouble: 8, BsonInt32: 4}

    @functools.wraps(original)
    def size(value: Any) -> int:
        known = sizes.get(type(value))
        return original(value) if known is None else known

    return size


def install_bson_sizes() -> None:
    from mongoeco.core.aggregation import runtime

    runtime._bson_value_size = bson_value_size(runtime._bson_value_size)
