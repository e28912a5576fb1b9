"""Query-string helpers (common/api/queries.py): whole numbers, and a list's page and page size."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from common.api.queries import (
    ERROR_PAGE,
    ERROR_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    InvalidQuery,
    PageQuery,
    parse_page_query,
    query_value,
    whole_number,
)


def test_whole_number_bounds_blank_and_junk() -> None:
    assert whole_number(None, default=7, high=10) == 7
    assert whole_number("  ", default=7, high=10) == 7
    assert whole_number(" 3 ", default=7, high=10) == 3
    assert whole_number("10", default=7, high=10) == 10
    assert [whole_number(raw, default=7, high=10) for raw in ("0", "11", "-1", "2.5", "x", "1e3")] == [None] * 6
    assert whole_number("0", default=7, low=0, high=10) == 0


def test_query_value_reads_query_dicts_and_dicts_of_lists() -> None:
    assert query_value(QueryDict("page=2&page=3"), "page") == "3"  # QueryDict.get: the last one sent
    assert query_value({"page": ["2", "3"]}, "page") == "2"
    assert query_value({"page": []}, "page") is None
    assert query_value({"page": 4}, "page") == "4"
    assert query_value(QueryDict(""), "page") is None


def test_page_query_defaults_and_bounds() -> None:
    assert parse_page_query(QueryDict("")) == PageQuery(page=1, page_size=PAGE_SIZE)
    assert parse_page_query(QueryDict(f"page={MAX_PAGE}&page_size={MAX_PAGE_SIZE}")) == PageQuery(
        page=MAX_PAGE, page_size=MAX_PAGE_SIZE
    )
    # Pages choose no size: the parameter is ignored, malformed or not.
    assert parse_page_query(QueryDict("page=2&page_size=junk"), allow_page_size=False) == PageQuery(page=2)


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=0", {"page": ERROR_PAGE}),
        (f"page={MAX_PAGE + 1}", {"page": ERROR_PAGE}),
        ("page=two", {"page": ERROR_PAGE}),
        ("page_size=0", {"page_size": ERROR_PAGE_SIZE}),
        (f"page_size={MAX_PAGE_SIZE + 1}", {"page_size": ERROR_PAGE_SIZE}),
        ("page=-1&page_size=x", {"page": ERROR_PAGE, "page_size": ERROR_PAGE_SIZE}),
    ],
)
def test_each_malformed_page_parameter_is_named(query: str, errors: dict[str, str]) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_page_query(QueryDict(query))
    assert raised.value.errors == {key: str(message) for key, message in errors.items()}
