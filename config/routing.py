"""Every app's WebSocket routes, gathered for config/asgi.py."""

from __future__ import annotations

from analytics.routing import websocket_urlpatterns as analytics_websocket_urlpatterns
from orders.routing import websocket_urlpatterns as orders_websocket_urlpatterns

websocket_urlpatterns = [
    *orders_websocket_urlpatterns,
    *analytics_websocket_urlpatterns,
]
