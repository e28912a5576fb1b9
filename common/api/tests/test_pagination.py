"""The page envelope (common/api/pagination.py): PagePagination, page_links and the OpenAPI shape."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from common.api.pagination import PagePagination, page_links, page_output_serializer
from common.api.queries import ERROR_PAGE, ERROR_PAGE_SIZE, PAGE_SIZE

ROWS = list(range(57))


class NumberListApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    pagination_class = PagePagination

    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(ROWS, request, view=self)
        return paginator.get_paginated_response([{"n": row} for row in rows])


def get(query: str = "") -> tuple[int, dict[str, Any]]:
    response = NumberListApi.as_view()(APIRequestFactory().get(f"/numbers/?{query}"))
    response.render()
    return response.status_code, json.loads(response.content)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_page_in_the_middle() -> None:
    status, body = get("page=2&page_size=10&sort=name")
    assert status == 200
    assert list(body) == ["count", "page", "pages", "page_size", "next", "previous", "results"]
    assert {key: body[key] for key in ("count", "page", "pages", "page_size")} == {
        "count": 57, "page": 2, "pages": 6, "page_size": 10,
    }  # fmt: skip
    assert [row["n"] for row in body["results"]] == list(range(10, 20))
    assert body["next"].startswith("http://testserver/numbers/?")
    assert query_of(body["next"]) == {"page": ["3"], "page_size": ["10"], "sort": ["name"]}
    assert query_of(body["previous"]) == {"page_size": ["10"], "sort": ["name"]}  # page 1 has no page=


def test_defaults_the_last_page_and_past_the_end() -> None:
    status, first = get()
    assert (status, first["page"], first["page_size"], first["pages"]) == (200, 1, PAGE_SIZE, 3)
    assert (len(first["results"]), first["previous"], query_of(first["next"])) == (PAGE_SIZE, None, {"page": ["2"]})

    last = get("page=3")[1]
    assert ([row["n"] for row in last["results"]], last["next"]) == (list(range(48, 57)), None)

    # Past the end: an empty page whose previous link is the last page, so a client can find its way back.
    status, beyond = get("page=40&page_size=10")
    assert (status, beyond["count"], beyond["pages"], beyond["results"], beyond["next"]) == (200, 57, 6, [], None)
    assert query_of(beyond["previous"]) == {"page": ["6"], "page_size": ["10"]}


def test_an_empty_list_has_one_empty_page() -> None:
    paginator = PagePagination()
    request = Request(APIRequestFactory().get("/numbers/"))
    assert paginator.paginate_queryset([], request) == []
    assert paginator.get_paginated_response([]).data == {
        "count": 0, "page": 1, "pages": 1, "page_size": PAGE_SIZE, "next": None, "previous": None, "results": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=0", {"page": ERROR_PAGE}),
        ("page=abc", {"page": ERROR_PAGE}),
        ("page=10001", {"page": ERROR_PAGE}),
        ("page_size=0", {"page_size": ERROR_PAGE_SIZE}),
        ("page_size=101", {"page_size": ERROR_PAGE_SIZE}),
        ("page=-1&page_size=1.5", {"page": ERROR_PAGE, "page_size": ERROR_PAGE_SIZE}),
    ],
)
def test_malformed_page_parameters_answer_400_naming_each(query: str, errors: dict[str, str]) -> None:
    expected = {key: str(message) for key, message in errors.items()}
    assert get(query) == (400, {"errors": expected})
    request = Request(APIRequestFactory().get(f"/numbers/?{query}"))
    assert PagePagination().query_errors(request) == expected


def test_query_errors_is_empty_for_good_parameters() -> None:
    request = Request(APIRequestFactory().get("/numbers/?page=2&page_size=100&other=x"))
    assert PagePagination().query_errors(request) == {}


def test_page_links_keep_the_query_and_drop_page_one() -> None:
    request = Request(APIRequestFactory().get("/x/?q=tea&page=2"))
    links = page_links(request, page=2, pages=3)
    assert (query_of(links["next"]), query_of(links["previous"])) == ({"q": ["tea"], "page": ["3"]}, {"q": ["tea"]})
    assert page_links(request, page=1, pages=1) == {"next": None, "previous": None}


class RowOutputSerializer(serializers.Serializer):
    n = serializers.IntegerField()


def test_page_output_serializer_describes_the_envelope() -> None:
    serializer_class = page_output_serializer(ref_name="NumberPage", rows="Numbers", row_serializer=RowOutputSerializer)
    fields = serializer_class().fields
    assert list(fields) == ["count", "page", "pages", "page_size", "next", "previous", "results"]
    assert fields["count"].help_text == "Numbers matching the filters, on every page."
    assert isinstance(fields["results"].child, RowOutputSerializer)
    assert serializer_class.Meta.ref_name == "NumberPage"
    # The envelope PagePagination answers is exactly the documented shape.
    body = get("page=2&page_size=5")[1]
    assert serializer_class(body).data == body
