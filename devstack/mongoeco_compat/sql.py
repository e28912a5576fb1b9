"""MongoDB filters and sorts as SQL over the JSON that mongoeco's SQLite engine stores.

mongoeco keeps each document as JSON text in ``documents.document``; BSON types JSON lacks are
tagged objects (``{"$mongoeco": {"type": "decimal128_public", "value": "12.50"}}``). Each path a
query names becomes one SQL ``key`` whose SQLite order is MongoDB's order of the values:

- null and missing: NULL; numbers (integers, integral doubles, decimals as doubles): INTEGER or
  REAL; strings: TEXT (byte order, as MongoDB compares strings without a collation);
- ObjectIds, booleans and dates: a BLOB of the BSON type number (7, 8, 9) and the value's text.

SQLite orders NULL < numbers < TEXT < BLOB, which is MongoDB's order of these types, so one
ORDER BY sorts as MongoDB does and a comparison stays within its operand's type (MongoDB's type
bracketing) by bounding the key to that type's range.

Values this does not order exactly are *undecided*: an array anywhere on the path (MongoDB
compares its elements), an embedded document, a tag not listed above, an integer beyond 2**53, a
fractional double (its exact comparison with a decimal differs from the doubles SQLite compares)
or a decimal of more than 15 significant digits. The caller answers a query with this SQL only
when no document of the collection holds an undecided value at any path the query names;
otherwise mongoeco answers it as before. ``compile_query`` returns None for any operator or
operand outside this subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from mongoeco.core.codec import DocumentCodec

from devstack.mongoeco_compat.stored_json import MISSING

EXACT_INTEGER_LIMIT = 2**53
MAX_DECIMAL_DIGITS = 15
OBJECT_ID, BOOLEAN, DATE = 7, 8, 9
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_TAG = "$mongoeco"
_PLAIN_TAG_TEXT = re.compile(r"[A-Za-z0-9_.:+ -]*")  # text JSON writes as it is, by Python or by SQLite
_DECIMAL_CHARACTERS = re.compile(r"[0-9.-]*")
_INTEGER_TAGS = ("int32", "int64")
_DECIMAL_TAGS = ("decimal128_public", "decimal128")
_DECIDED_TAGS = ("objectid", "datetime", "int32", "int64", "double", *_DECIMAL_TAGS)  # all others: undecided
_COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
REGEX_FUNCTION = "tienda_regex_search"


class Unsupported(Exception):
    """The query uses something this module does not translate; mongoeco answers it."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _blob(type_number: int, text: str = "") -> bytes:
    return bytes([type_number]) + text.encode()


def _blob_sql(type_number: int, text_sql: str) -> str:
    return f"CAST(char({type_number}) || {text_sql} AS BLOB)"


@dataclass(frozen=True)
class FieldSQL:
    """SQL expressions over one dotted path of the stored document."""

    name: str

    def __post_init__(self) -> None:
        if not all(_FIELD_NAME.match(part) for part in self.name.split(".")):
            raise Unsupported(f"field path {self.name!r}")

    def _call(self, function: str, suffix: str = "", path: str | None = None) -> str:
        return f"{function}(document, {_literal('$.' + (path or self.name) + suffix)})"

    @property
    def json_type(self) -> str:
        return self._call("json_type")

    @property
    def raw(self) -> str:
        return self._call("json_extract")

    @property
    def tag(self) -> str:
        return self._call("json_extract", f'."{_TAG}".type')

    @property
    def tagged_value(self) -> str:
        return self._call("json_extract", f'."{_TAG}".value')

    @property
    def key(self) -> str:
        """The value in MongoDB's order (see the module docstring); meaningful for decided values."""
        value = self.tagged_value
        tagged = (
            f"CASE {self.tag} WHEN 'objectid' THEN {_blob_sql(OBJECT_ID, value)} "
            f"WHEN 'datetime' THEN {_blob_sql(DATE, value)} "
            f"WHEN 'decimal128_public' THEN CAST({value} AS REAL) WHEN 'decimal128' THEN CAST({value} AS REAL) "
            f"ELSE {value} END"
        )
        return (
            f"(CASE {self.json_type} WHEN 'integer' THEN {self.raw} WHEN 'real' THEN {self.raw} "
            f"WHEN 'text' THEN {self.raw} WHEN 'true' THEN x'0831' WHEN 'false' THEN x'0830' "
            f"WHEN 'object' THEN {tagged} END)"
        )

    @property
    def undecided(self) -> str:
        """True for a value ``key`` does not order exactly (see the module docstring)."""
        limit = EXACT_INTEGER_LIMIT
        kind, raw, value = self.json_type, self.raw, self.tagged_value

        def integral(number: str) -> str:
            return f"({number} = CAST({number} AS INTEGER) AND {number} BETWEEN -{limit} AND {limit})"

        # The codec escapes user documents that look like tags, so an object whose text is exactly
        # {"$mongoeco":{"type":T,"value":V}} with a scalar V is one of its tags.
        genuine_tag = f"{raw} = json_object('{_TAG}', json_object('type', {self.tag}, 'value', {value}))"
        decided_tag = (
            f"CASE {self.tag} WHEN 'objectid' THEN 1 WHEN 'datetime' THEN 1 WHEN 'int32' THEN 1 "
            f"WHEN 'int64' THEN {value} BETWEEN -{limit} AND {limit} WHEN 'double' THEN {integral(value)} "
            f"WHEN 'decimal128_public' THEN {_plain_decimal(value)} WHEN 'decimal128' THEN {_plain_decimal(value)} "
            "ELSE 0 END"
        )
        decided = (
            f"CASE WHEN {kind} IS NULL THEN 1 WHEN {kind} IN ('null', 'text', 'true', 'false') THEN 1 "
            f"WHEN {kind} = 'integer' THEN {raw} BETWEEN -{limit} AND {limit} "
            f"WHEN {kind} = 'real' THEN {integral(raw)} "
            f"WHEN {kind} = 'object' THEN ({genuine_tag}) AND ({decided_tag}) ELSE 0 END"
        )
        parts = self.name.split(".")
        tag_key = f'."{_TAG}"'
        parents = []
        for end in range(1, len(parts)):
            # A parent that is an array or a tagged value is not a document to walk into.
            parent = ".".join(parts[:end])
            parents.append(f"{self._call('json_type', path=parent)} = 'array'")
            parents.append(f"{self._call('json_type', tag_key, path=parent)} IS NOT NULL")
        return "(" + " OR ".join([*parents, f"NOT ({decided})"]) + ")"


def undecided_in(document: dict[str, Any], name: str) -> bool | None:
    """``FieldSQL(name).undecided`` for one stored document, parsed; None where only SQLite can tell.

    The values mongoeco writes (JSON's own, arrays, documents and its tags with plain values) are
    answered as the SQL answers them. A tag of a type the SQL may decide whose value is not plain
    (text needing no JSON escape, an integer below 2**63) is left to SQLite: the SQL compares the
    tag's text with one it writes itself (``genuine_tag``), and only for plain values do Python
    and SQLite write the same text.
    """
    current: Any = document
    parts = name.split(".")
    for part in parts[:-1]:
        current = current.get(part, MISSING) if isinstance(current, dict) else MISSING
        if isinstance(current, list) or (isinstance(current, dict) and _TAG in current):
            return True
        if not isinstance(current, dict):
            return False  # nothing at the path
    value = current.get(parts[-1], MISSING) if isinstance(current, dict) else MISSING
    if value is MISSING or value is None or isinstance(value, (bool, str)):
        return False
    if isinstance(value, int):
        return abs(value) > EXACT_INTEGER_LIMIT
    if isinstance(value, float):
        return not (value.is_integer() and abs(value) <= EXACT_INTEGER_LIMIT)
    if isinstance(value, list) or list(value) != [_TAG]:
        return True  # an array, or a document that is no tag
    inner = value[_TAG]
    kind = inner.get("type") if isinstance(inner, dict) else None
    if not isinstance(kind, str) or kind not in _DECIDED_TAGS:
        return True
    if list(inner) != ["type", "value"]:
        return True  # not the text of a tag
    tagged = inner["value"]
    if not _plain_tag_value(tagged):
        return None
    if kind in ("objectid", "datetime", "int32"):
        return False
    if kind == "int64" and isinstance(tagged, int):
        return abs(tagged) > EXACT_INTEGER_LIMIT
    if kind in _DECIMAL_TAGS and isinstance(tagged, str):
        return not _is_plain_decimal(tagged)
    return None


def _plain_tag_value(value: Any) -> bool:
    if isinstance(value, str):
        return _PLAIN_TAG_TEXT.fullmatch(value) is not None
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def _is_plain_decimal(text: str) -> bool:
    """``_plain_decimal`` in Python."""
    digits = text.replace("-", "").lstrip("0.").replace(".", "")
    return (
        _DECIMAL_CHARACTERS.fullmatch(text) is not None
        and any(c in "0123456789" for c in text)
        and len(digits) <= MAX_DECIMAL_DIGITS
    )


def _plain_decimal(text: str) -> str:
    """A decimal written plainly with at most 15 significant digits (exact as a double)."""
    digits = f"length(replace(ltrim(replace({text}, '-', ''), '0.'), '.', ''))"
    return f"({text} NOT GLOB '*[^0-9.-]*' AND {text} GLOB '*[0-9]*' AND {digits} <= {MAX_DECIMAL_DIGITS})"


@dataclass(frozen=True)
class Operand:
    """A query value as SQL comparable with ``FieldSQL.key``, and the key range of its BSON type."""

    sql: str
    params: tuple[Any, ...]
    lower: tuple[str, tuple[Any, ...]] | None  # the type's least key (inclusive), None for numbers
    upper: tuple[str, tuple[Any, ...]]  # the next type's least key (exclusive)


_NUMBERS = (None, ("''", ()))
_STRINGS = (("''", ()), ("x''", ()))


def _blob_range(type_number: int) -> tuple[tuple[str, tuple[Any, ...]], tuple[str, tuple[Any, ...]]]:
    return ("?", (_blob(type_number),)), ("?", (_blob(type_number + 1),))


def operand(value: Any) -> Operand | None:
    """The key of a filter value (None for null), by the JSON mongoeco would store for it."""
    encoded = DocumentCodec.encode(value)
    if encoded is None:
        return None
    if isinstance(encoded, bool):
        return Operand("?", (_blob(BOOLEAN, "1" if encoded else "0"),), *_blob_range(BOOLEAN))
    if isinstance(encoded, int):
        if abs(encoded) > EXACT_INTEGER_LIMIT:
            raise Unsupported("integer beyond 2**53")
        return Operand("?", (encoded,), *_NUMBERS)
    if isinstance(encoded, float):
        if not encoded.is_integer() or abs(encoded) > EXACT_INTEGER_LIMIT:
            raise Unsupported("fractional double")
        return Operand("?", (int(encoded),), *_NUMBERS)
    if isinstance(encoded, str):
        return Operand("?", (encoded,), *_STRINGS)
    if isinstance(encoded, dict) and set(encoded) == {_TAG}:
        kind, tagged = encoded[_TAG]["type"], encoded[_TAG]["value"]
        if kind == "objectid":
            return Operand("?", (_blob(OBJECT_ID, tagged),), *_blob_range(OBJECT_ID))
        if kind == "datetime":
            return Operand("?", (_blob(DATE, tagged),), *_blob_range(DATE))
        if kind in _INTEGER_TAGS or kind == "double":
            return operand(tagged)
        if kind in _DECIMAL_TAGS:
            digits = tagged.lstrip("-").lstrip("0.").replace(".", "")
            if not _PLAIN_DECIMAL.match(tagged) or len(digits) > MAX_DECIMAL_DIGITS:
                raise Unsupported("decimal beyond 15 significant digits")
            # Converted by SQLite, as the stored decimals are: both sides round the same way.
            return Operand("CAST(? AS REAL)", (tagged,), *_NUMBERS)
    raise Unsupported(f"operand of type {type(value).__name__}")


@dataclass
class Compiled:
    """A filter and sort as SQL, with what the caller needs to pick an index.

    ``where`` with ``params``; ``order_by``; ``paths``: every path read; ``pinned``: paths a
    top-level conjunct restricts to one or a few values; ``ranged``: paths a top-level conjunct
    bounds with a comparison; ``sort``: the sort's (path, direction)s;
    ``ids``: the ``_id`` values a top-level conjunct restricts to, when all are ObjectIds or strings.
    """

    where: str
    params: list[Any]
    order_by: str
    paths: set[str] = field(default_factory=set)
    pinned: set[str] = field(default_factory=set)
    ranged: set[str] = field(default_factory=set)
    sort: list[tuple[str, int]] = field(default_factory=list)
    ids: list[Any] | None = None


class _Compiler:
    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.pinned: set[str] = set()
        self.ranged: set[str] = set()
        self.params: list[Any] = []
        self.ids: list[Any] | None = None

    def field(self, name: str) -> FieldSQL:
        sql = FieldSQL(name)
        self.paths.add(name)
        return sql

    def document(self, spec: Any, *, top: bool = False) -> str:
        if not isinstance(spec, dict):
            raise Unsupported("filter is not a document")
        clauses = [self.clause(key, value, top=top) for key, value in spec.items()]
        return "(" + " AND ".join(clauses) + ")" if clauses else "1"

    def clause(self, key: str, value: Any, *, top: bool) -> str:
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise Unsupported(f"{key} without a non-empty list")
            parts = [self.document(item, top=top and key == "$and") for item in value]
            if key == "$and":
                return "(" + " AND ".join(parts) + ")"
            joined = "(" + " OR ".join(parts) + ")"
            return joined if key == "$or" else f"(NOT {joined})"
        if key.startswith("$"):
            raise Unsupported(f"top-level operator {key}")
        target = self.field(key)
        if isinstance(value, dict) and value and all(name.startswith("$") for name in value):
            return self.operators(target, value, top=top)
        if top:
            self.pin(key, [value])
        return self.equals(target, value)

    def pin(self, key: str, values: list[Any]) -> None:
        self.pinned.add(key)
        if key == "_id" and all(isinstance(value, str | ObjectId) for value in values):
            self.ids = list(values) if self.ids is None else [value for value in self.ids if value in values]

    def equals(self, target: FieldSQL, value: Any) -> str:
        if isinstance(value, dict | list | tuple):
            raise Unsupported("equality with a document or array")
        given = operand(value)
        if given is None:
            return f"({target.key} IS NULL)"
        self.params.extend(given.params)
        # IS rather than =: every clause is true or false, never NULL, so NOT and $nor stay exact.
        return f"({target.key} IS {given.sql})"

    def one_of(self, target: FieldSQL, values: list[Any]) -> str:
        given = [operand(value) for value in values]
        present = [item for item in given if item is not None]
        clauses = [f"{target.key} IS NULL"] if len(present) < len(given) else []
        if present:
            # IN gives NULL for a NULL key; "IS NOT NULL AND" turns that into false.
            placeholders = ", ".join(item.sql for item in present)
            clauses.append(f"({target.key} IS NOT NULL AND {target.key} IN ({placeholders}))")
            for item in present:
                self.params.extend(item.params)
        return "(" + " OR ".join(clauses) + ")"

    def operators(self, target: FieldSQL, spec: dict[str, Any], *, top: bool) -> str:
        if "$options" in spec and "$regex" not in spec:
            raise Unsupported("$options without $regex")
        clauses = []
        for name, value in spec.items():
            if name == "$eq":
                if top:
                    self.pin(target.name, [value])
                clauses.append(self.equals(target, value))
            elif name == "$ne":
                clauses.append(f"(NOT {self.equals(target, value)})")
            elif name in ("$in", "$nin"):
                if not isinstance(value, list | tuple) or not value:
                    raise Unsupported(f"{name} without a non-empty list")
                if any(isinstance(item, dict | list | tuple) for item in value):
                    raise Unsupported(f"{name} with a document, array or regex")
                if name == "$in" and top:
                    self.pin(target.name, list(value))
                matches = self.one_of(target, list(value))
                clauses.append(matches if name == "$in" else f"(NOT {matches})")
            elif name in _COMPARISONS:
                if top:
                    self.ranged.add(target.name)
                clauses.append(self.compare(target, _COMPARISONS[name], value))
            elif name == "$exists":
                if not isinstance(value, bool):
                    raise Unsupported("$exists with a non-boolean")
                clauses.append(f"({target.json_type} IS {'NOT ' if value else ''}NULL)")
            elif name == "$regex":
                clauses.append(self.regex(target, value, spec.get("$options", "")))
            elif name != "$options":
                raise Unsupported(f"operator {name}")
        return "(" + " AND ".join(clauses) + ")"

    def compare(self, target: FieldSQL, operator: str, value: Any) -> str:
        given = operand(value)
        if given is None:
            raise Unsupported("range over null")
        self.params.extend(given.params)
        clause = f"{target.key} IS NOT NULL AND {target.key} {operator} {given.sql}"
        bound, params = given.upper if operator in (">", ">=") else (given.lower or (None, ()))
        if bound is not None:
            clause += f" AND {target.key} {'<' if operator in ('>', '>=') else '>='} {bound}"
            self.params.extend(params)
        return f"({clause})"

    def regex(self, target: FieldSQL, pattern: Any, options: Any) -> str:
        from mongoeco.core._filtering_support import compile_regex

        if not isinstance(pattern, str) or not isinstance(options, str):
            raise Unsupported("$regex that is not a string pattern with string options")
        try:
            compile_regex(pattern, options)
        except Exception as error:  # mongoeco raises its own error for a bad pattern
            raise Unsupported("invalid regular expression") from error
        self.params.extend((pattern, options))
        return f"({target.json_type} = 'text' AND {REGEX_FUNCTION}({target.raw}, ?, ?))"

    def order_by(self, sort: list[tuple[str, int]]) -> str:
        terms = [f"{self.field(name).key} {'ASC' if direction == 1 else 'DESC'}" for name, direction in sort]
        # Ties (and unsorted reads) come out in insertion order, MongoDB's usual natural order.
        return "ORDER BY " + ", ".join([*terms, "rowid"])


def _sort_items(sort: Any) -> list[tuple[str, int]]:
    if not sort:
        return []
    items = list(sort.items()) if isinstance(sort, dict) else list(sort)
    for name, direction in items:
        if not isinstance(name, str) or isinstance(direction, bool) or direction not in (1, -1):
            raise Unsupported("sort other than field: 1 or -1")
    return items


_PRESENCE_CHECKS = ({"$exists": True}, {"$ne": None}, {"$exists": True, "$ne": None})


def _holds_a_value(value: Any) -> bool:
    """Whether ``{path: value}`` matches only documents whose path holds a value other than null."""
    if isinstance(value, dict) and value and all(isinstance(name, str) and name.startswith("$") for name in value):
        return any(
            (name in ("$eq", *_COMPARISONS) and operand is not None)
            or (name == "$in" and isinstance(operand, list | tuple) and bool(operand) and None not in operand)
            or name == "$regex"
            for name, operand in value.items()
        )
    return value is not None


def _conjuncts(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (key, value) pairs that must all hold: ``spec``'s own and those of the ``$and`` documents in it."""
    found = []
    for key, value in spec.items():
        if key == "$and" and isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                found += _conjuncts(item)
        else:
            found.append((key, value))
    return found


def without_implied_checks(spec: Any) -> Any:
    """``spec`` without the presence checks another condition of the same conjunction implies.

    django-mongodb-backend sends ``price__lte=x`` as ``{"$and": [{"price": {"$lte": x}}, {"price": {"$exists":
    true}}, {"price": {"$ne": null}}]}`` (SQL's NULL never compares). ``{"price": {"$lte": x}}`` alone matches
    only documents where price holds a value other than null, so the two checks change no answer; each would
    cost the SQL another reading of the field in every candidate document.
    """
    if not isinstance(spec, dict):
        return spec
    conjuncts = [
        (key, [without_implied_checks(item) for item in value] if key in ("$or", "$nor") and isinstance(value, list)
         else value)
        for key, value in _conjuncts(spec)
    ]  # fmt: skip
    holding = {key for key, value in conjuncts if not key.startswith("$") and _holds_a_value(value)}
    kept = [(key, value) for key, value in conjuncts if not (key in holding and value in _PRESENCE_CHECKS)]
    if kept == list(spec.items()):
        return spec
    return {"$and": [{key: value} for key, value in kept]} if kept else {}


def compile_query(filter_spec: Any, sort: Any) -> Compiled | None:
    """The SQL for ``filter_spec`` and ``sort``, or None when any part is outside the subset."""
    compiler = _Compiler()
    try:
        where = compiler.document(without_implied_checks(filter_spec or {}), top=True)
        items = _sort_items(sort)
        order_by = compiler.order_by(items)
    except Unsupported:
        return None
    return Compiled(
        where=where,
        params=compiler.params,
        order_by=order_by,
        paths=compiler.paths,
        pinned=compiler.pinned,
        ranged=compiler.ranged,
        sort=items,
        ids=compiler.ids,
    )


def regex_search(value: Any, pattern: str, options: str) -> int:
    """The SQL function behind ``$regex``: mongoeco's own pattern compiler, so the same matches."""
    from mongoeco.core._filtering_support import compile_regex

    return int(isinstance(value, str) and compile_regex(pattern, options).search(value) is not None)
