"""Orders API under /api/orders/: each URL with the action class that serves each of its methods."""

from __future__ import annotations

from django.urls import path

from common.api.routing import method_router
from orders.api import (
    OrderCancelApi,
    OrderCreateApi,
    OrderDetailApi,
    OrderListApi,
    OrderPayApi,
    OrderStatusChangeApi,
)

app_name = "orders-api"

# <str:id> rather than a stricter converter: a malformed id must answer the same JSON 404 as an
# unknown one, not fall through to the HTML 404 page.
urlpatterns = [
    path(
        "",
        method_router("OrderCollectionApi", description="/api/orders/", get=OrderListApi, post=OrderCreateApi),
        name="order-list",
    ),
    path("<str:id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("<str:id>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("<str:id>/pay/", OrderPayApi.as_view(), name="order-pay"),
    path("<str:id>/status/", OrderStatusChangeApi.as_view(), name="order-status"),
]
