"""Pages of a list: the envelope ``{count, page, pages, page_size, next, previous, results}``.

PagePagination pages a queryset through DRF's pagination API. A list answered from a cache
whole (the catalog's, shop.selectors) already holds count, page, pages, page_size and results,
and adds ``page_links``. ``page_output_serializer`` describes the envelope for OpenAPI.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from common.api.errors import MalformedQuery
from common.api.queries import MAX_PAGE_SIZE, PAGE_SIZE, InvalidQuery, PageQuery, parse_page_query


def _page_link(request: Request, page: int) -> str:
    url = request.build_absolute_uri()
    return remove_query_param(url, "page") if page == 1 else replace_query_param(url, "page", page)


def page_links(request: Request, *, page: int, pages: int) -> dict[str, str | None]:
    """Absolute ``next`` / ``previous`` URLs keeping the query; past the end, previous is the last page."""
    return {
        "next": _page_link(request, page + 1) if page < pages else None,
        "previous": _page_link(request, min(page - 1, pages)) if page > 1 else None,
    }


class PagePagination(PageNumberPagination):
    """DRF's page-number pagination, strict about its parameters and lenient past the end.

    Where DRF's class silently clamps a bad ``page_size`` and answers 404 for a page it cannot
    serve, this one answers 400 ``{"errors": {...}}`` naming each malformed parameter (the
    messages of common.api.queries) and an empty page past the last one, so a client can follow
    ``next`` or jump to a page without knowing the count first.
    """

    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"

    def query_errors(self, request: Request) -> dict[str, str]:
        """The page parameters' messages, for a view that answers them in one 400 with its own filters'."""
        try:
            parse_page_query(request.query_params)
        except InvalidQuery as error:
            return error.errors
        return {}

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        try:
            self.query: PageQuery = parse_page_query(request.query_params)
        except InvalidQuery as error:
            raise MalformedQuery(error.errors) from error
        self.request = request
        paginator = self.django_paginator_class(queryset, self.query.page_size)
        self.count: int = paginator.count
        self.pages: int = paginator.num_pages
        if self.query.page > self.pages:
            return []
        return list(paginator.page(self.query.page))

    def get_next_link(self) -> str | None:
        return page_links(self.request, page=self.query.page, pages=self.pages)["next"]

    def get_previous_link(self) -> str | None:
        return page_links(self.request, page=self.query.page, pages=self.pages)["previous"]

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "page": self.query.page,
                "pages": self.pages,
                "page_size": self.query.page_size,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


def page_output_serializer(
    *, ref_name: str, rows: str, row_serializer: type[serializers.Serializer]
) -> type[serializers.Serializer]:
    """The OpenAPI shape of a page of ``row_serializer`` rows, as the component ``ref_name``.

    ``rows`` names them in the description of ``count`` ("Orders" matching the filters...).
    """
    fields: dict[str, Any] = {
        "count": serializers.IntegerField(help_text=f"{rows} matching the filters, on every page."),
        "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(help_text="At least 1, even when nothing matches."),
        "page_size": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True, help_text="Absolute URL of the next page, same filters."),
        "previous": serializers.URLField(allow_null=True, help_text="Absolute URL of the previous page."),
        # Made last: a serializer lists its declared fields in the order they were created.
        "results": row_serializer(many=True),
        "Meta": type("Meta", (), {"ref_name": ref_name}),
    }
    return type(f"{ref_name}OutputSerializer", (serializers.Serializer,), fields)


def page_parameters(*, page: str, page_size: str) -> list[OpenApiParameter]:
    """The ``page`` and ``page_size`` query parameters, with each list's own descriptions."""
    return [
        OpenApiParameter("page", int, default=1, description=page),
        OpenApiParameter("page_size", int, default=PAGE_SIZE, description=page_size),
    ]
