"""WebSocket routes of the orders app (protocol in docs/api.md)."""

from __future__ import annotations

from django.urls import path

from orders import consumers

websocket_urlpatterns = [
    path("ws/orders/", consumers.OrderListConsumer.as_asgi()),
    path("ws/orders/<str:order_id>/", consumers.OrderConsumer.as_asgi()),
    path("ws/staff/orders/", consumers.StaffOrdersConsumer.as_asgi()),
]
