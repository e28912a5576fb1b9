"""Orders API under /api/orders/ (paths that clients rely on are listed in DESIGN.md, section 3)."""

from __future__ import annotations

from django.urls import path

from orders.api import OrderCancelApi, OrderCollectionApi, OrderDetailApi, OrderPayApi, OrderStatusChangeApi

app_name = "orders-api"

# <str:id> rather than a stricter converter: a malformed id must answer the same JSON 404 as an
# unknown one, not fall through to the HTML 404 page.
urlpatterns = [
    path("", OrderCollectionApi.as_view(), name="order-list"),
    path("<str:id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("<str:id>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("<str:id>/pay/", OrderPayApi.as_view(), name="order-pay"),
    path("<str:id>/status/", OrderStatusChangeApi.as_view(), name="order-status"),
]
