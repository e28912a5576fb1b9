"""Reading query-string parameters: whole numbers within bounds, and a list's page and page size.

Malformed input gets a message a person can act on (module constants, so tests assert them),
and every rejected parameter is named, so one 400 answer lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000

# The bounds are spelled out (not formatted in) so the translations keep matching.
ERROR_PAGE = _("Page must be a whole number from 1 to 10000.")
ERROR_PAGE_SIZE = _("Page size must be a whole number from 1 to 100.")


class InvalidQuery(ValueError):
    """The query string has errors; ``errors`` maps each parameter to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class PageQuery:
    """Which page of a list, and how many rows a page holds."""

    page: int = 1
    page_size: int = PAGE_SIZE


def query_value(params: Mapping[str, object], name: str) -> str | None:
    """The parameter as text, or None: a QueryDict's value (the last one sent), a dict of lists' first."""
    getter = getattr(params, "get", None)
    value = getter(name) if getter else None
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def whole_number(raw: str | None, *, default: int, low: int = 1, high: int) -> int | None:
    """``raw`` as an int in ``low..high``; ``default`` when blank; None when malformed or out of range."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


def parse_page_query(params: Mapping[str, object], *, allow_page_size: bool = True) -> PageQuery:
    """``page`` (1 to MAX_PAGE) and, when allowed, ``page_size`` (1 to MAX_PAGE_SIZE); else InvalidQuery.

    Without ``allow_page_size`` the parameter is ignored and a page holds PAGE_SIZE rows.
    """
    errors: dict[str, str] = {}
    page = whole_number(query_value(params, "page"), default=1, high=MAX_PAGE)
    if page is None:
        errors["page"] = str(ERROR_PAGE)
    page_size: int | None = PAGE_SIZE
    if allow_page_size:
        page_size = whole_number(query_value(params, "page_size"), default=PAGE_SIZE, high=MAX_PAGE_SIZE)
        if page_size is None:
            errors["page_size"] = str(ERROR_PAGE_SIZE)
    if page is None or page_size is None:
        raise InvalidQuery(errors)
    return PageQuery(page=page, page_size=page_size)
