"""Fixes for gaps in mongoeco's wire server that django-mongodb-backend runs into.

Each fix is a mongoeco gap, not a Django or MongoDB behaviour: real MongoDB
needs none of them. mongoeco is pinned exactly in requirements.txt because
these patches reach into its internals; each one has a test in
``devstack/tests/test_mongoeco_compat.py`` that fails without it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId

BUILDINFO_ALIAS = "buildinfo_alias"
NOT_OPERATOR = "not_operator"
FLAT_FIELD_SPECS = "flat_field_specs"
INSERT_WITHOUT_ID_SCAN = "insert_without_id_scan"
FIXES = (BUILDINFO_ALIAS, NOT_OPERATOR, FLAT_FIELD_SPECS, INSERT_WITHOUT_ID_SCAN)

_applied: set[str] = set()

# pymongo's server_info() sends the lowercase spelling; mongoeco only knows the other.
COMMAND_ALIASES = {"buildinfo": "buildInfo"}

_COMMAND_REWRITE_PATCHED = "_command_rewrite_patched"
_FIELD_SPEC_STAGES = ("$project", "$addFields", "$set")
_NESTED_PIPELINE_STAGES = ("$lookup", "$unionWith")


def apply(*, skip: tuple[str, ...] = ()) -> None:
    """Install every fix but those in ``skip`` (tests skip one to show it is needed)."""
    unknown = set(skip) - set(FIXES)
    if unknown:
        raise ValueError(f"unknown mongoeco fixes: {sorted(unknown)}")
    wanted = [fix for fix in FIXES if fix not in skip and fix not in _applied]
    if BUILDINFO_ALIAS in wanted or FLAT_FIELD_SPECS in wanted:
        _patch_command_rewriting()
    if NOT_OPERATOR in wanted:
        _register_not_operator()
    if INSERT_WITHOUT_ID_SCAN in wanted:
        _skip_id_scan_for_exact_key_types()
    _applied.update(wanted)


# --- 1 and 3: rewrite incoming commands -------------------------------------


def rewrite_command(body: dict[str, Any], *, alias: bool = True, flatten: bool = True) -> dict[str, Any]:
    """Return ``body`` with the command name aliased and nested field specs flattened."""
    if not body:
        return body
    name = next(iter(body))
    if alias and name in COMMAND_ALIASES:
        body = {(COMMAND_ALIASES[name] if key == name else key): value for key, value in body.items()}
        name = COMMAND_ALIASES[name]
    if not flatten:
        return body
    if name == "aggregate" and isinstance(body.get("pipeline"), list):
        body = {**body, "pipeline": rewrite_pipeline(body["pipeline"])}
    elif name == "find" and isinstance(body.get("projection"), Mapping):
        body = {**body, "projection": flatten_field_spec(body["projection"])}
    return body


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


def _patch_command_rewriting() -> None:
    from mongoeco.wire import executor

    if _COMMAND_REWRITE_PATCHED in _applied:
        return
    original = executor.build_request_context

    @functools.wraps(original)
    def build_request_context(body: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        body = rewrite_command(body, alias=BUILDINFO_ALIAS in _applied, flatten=FLAT_FIELD_SPECS in _applied)
        return original(body, *args, **kwargs)

    # Patched where it is looked up, so the rewrite runs before mongoeco's
    # command-name check rejects the lowercase alias.
    executor.build_request_context = build_request_context
    _applied.add(_COMMAND_REWRITE_PATCHED)


# --- 2: the $not expression operator ----------------------------------------


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


def _register_not_operator() -> None:
    from mongoeco.core.aggregation import register_aggregation_expression_operator

    register_aggregation_expression_operator("$not", not_operator)


# --- 4: bulk-insert speed ---------------------------------------------------


def _has_exact_key_id(document: Mapping[str, Any]) -> bool:
    # ObjectIds and strings have one BSON spelling each, so the exact storage-key
    # lookup mongoeco already does catches every duplicate; the scan only
    # matters for numbers (1 == 1.0 == Decimal128("1")).
    return isinstance(document.get("_id"), (ObjectId, str))


def _without_id_scan(method: Callable[..., None], document_position: int) -> Callable[..., None]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        document = args[document_position] if len(args) > document_position else None
        if isinstance(document, Mapping) and _has_exact_key_id(document):
            kwargs["scan_payload_id"] = False
        return method(self, *args, **kwargs)

    return wrapper


def _skip_id_scan_for_exact_key_types() -> None:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    # (db_name, coll_name, document, ...): the document is the third positional argument.
    MemoryEngine._ensure_unique_indexes = _without_id_scan(MemoryEngine._ensure_unique_indexes, 2)
    SQLiteEngine._validate_document_against_unique_indexes = _without_id_scan(
        SQLiteEngine._validate_document_against_unique_indexes, 2
    )
