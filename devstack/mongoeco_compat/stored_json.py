"""SQLite's ``json_type`` and ``json_extract`` over a stored document, in Python on the parsed JSON.

A followed flag (changes.py) tests the rows a write touched. In SQL every ``json_type`` or
``json_extract`` call parses the whole stored document again: the SQLite in this Python (3.40)
keeps no parsed copy between calls, and an order's 27 followed paths took about 1,000 calls, 2 ms
of each update. Here the document is parsed once and each test walks it.

The walk is SQLite's for the paths mongoeco writes (``json_path_for_field``): ``a.b`` names keys,
an all-digit part indexes an array. Both read the same JSON text; JSON's types map one to one
(``true`` and ``false`` are Python's booleans, integers ``int``, other numbers ``float``). A path
part this module does not read as SQLite does (quotes, brackets, wildcards, non-ASCII) has no
Python test: ``walker`` returns None and the caller asks SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MISSING = object()  # what SQL sees as NULL: no value at the path
_KEY = re.compile(r"[A-Za-z0-9_$-]+")
_INDEX = re.compile(r"[0-9]{1,9}")

Walker = Callable[[Any], Any]


def walker(field_path: str) -> Walker | None:
    """``json_extract(document, json_path_for_field(field_path))`` as a function of the parsed document.

    It returns the value, or ``MISSING`` where SQL gives NULL for want of a value (a JSON
    ``null`` is None). None when a part is not one this module reads as SQLite does.
    """
    steps: list[str | int] = []
    for part in field_path.split("."):
        if _INDEX.fullmatch(part):
            steps.append(int(part))
        elif _KEY.fullmatch(part):
            steps.append(part)
        else:
            return None

    def walk(document: Any) -> Any:
        current = document
        for step in steps:
            if isinstance(step, int):
                if not isinstance(current, list) or step >= len(current):
                    return MISSING
            elif not isinstance(current, dict) or step not in current:
                return MISSING
            current = current[step]
        return current

    return walk


def json_type(value: Any) -> str | None:
    """SQLite's ``json_type`` of a parsed JSON value; None for ``MISSING``."""
    if value is MISSING:
        return None
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "array"
    return "object"
