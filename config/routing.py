"""Every app's WebSocket routes, gathered for config/asgi.py."""

from __future__ import annotations

from orders.routing import websocket_urlpatterns as orders_websocket_urlpatterns

websocket_urlpatterns = [
    *orders_websocket_urlpatterns,
]
