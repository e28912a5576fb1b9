"""WebSocket routes of the analytics app."""

from __future__ import annotations

from django.urls import path

from analytics import consumers

websocket_urlpatterns = [
    path("ws/staff/analytics/", consumers.StaffAnalyticsConsumer.as_asgi()),
]
