"""``GET /api/staff/analytics/``: the dashboard's figures as JSON, for staff."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.queries import parse_day
from analytics.selectors import analytics_snapshot
from common.api.errors import FORBIDDEN, MALFORMED_QUERY, UNAUTHENTICATED, MalformedQuery
from common.api.queries import InvalidQuery, query_value


class AnalyticsApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="staff_analytics",
        summary="Shop figures for a day (staff)",
        description=(
            "Orders, revenue per currency (exact decimals as text, and `revenue_minor` in integer minor units), "
            "average order value, units sold, paid / cancelled / expired counts, top 10 products by units and by "
            "revenue, visitors now (last 5 minutes) and on the day (unique, HyperLogLog), the funnel (carts active "
            "in the last 10 minutes, checkouts started, orders placed, orders paid), low-stock products, the "
            "catalog cache's hit ratio, and orders and revenue per minute (last 2 hours) and per hour (last 7 "
            "days). Days are local days of the shop's time zone (`time_zone`)."
        ),
        parameters=[
            OpenApiParameter(
                "day",
                OpenApiTypes.DATE,
                description="A local day as YYYY-MM-DD within the last 7 "
                "days and today; default today. Live and history figures are always the present's.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The figures."),
            400: MALFORMED_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
        tags=["staff"],
    )
    def get(self, request: Request) -> Response:
        try:
            day = parse_day(query_value(request.query_params, "day"))
        except InvalidQuery as error:
            raise MalformedQuery(error.errors) from None
        return Response(analytics_snapshot(day=day))
