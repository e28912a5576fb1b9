"""WebSocket routes of the orders app (live order pages arrive with the orders issue)."""

from __future__ import annotations

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
