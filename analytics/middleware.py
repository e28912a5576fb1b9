"""Counts page views, visitors, active carts and checkouts started (analytics/traffic.py buffers them)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from analytics.traffic import traffic
from orders.cart import SESSION_KEY as CART_SESSION_KEY

# Pages for staff and machines are not shop traffic.
_NOT_PAGES = ("/admin/", "/staff/", "/static/", "/api/", "/healthz", "/livez", "/i18n/")


class TrafficMiddleware:
    """Counts a request in memory after its answer is ready: no Redis round trip on the request path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.checkout_page = reverse("orders:checkout")
        self.order_create_api = reverse("orders-api:order-list")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path
        view = (
            request.method == "GET" and response.status_code == 200 and not path.startswith(_NOT_PAGES)
            and response.get("Content-Type", "").startswith("text/html")
        )  # fmt: skip
        checkout = (view and path == self.checkout_page) or (
            request.method == "POST" and path == self.order_create_api and response.status_code < 500
        )
        cart = _cart_session(request)
        if view or checkout or cart:
            meta = request.META
            visitor = traffic.visitor_id(meta.get("REMOTE_ADDR", ""), meta.get("HTTP_USER_AGENT", ""))
            traffic.record(visitor=visitor, view=view, checkout=checkout, cart=cart)
        return response


def _cart_session(request: HttpRequest) -> str | None:
    """The session key when the request's session, already loaded by the view, holds a cart."""
    session = getattr(request, "session", None)
    loaded = getattr(session, "_session_cache", None)  # never load a session only to look
    if not isinstance(loaded, dict):
        return None
    cart = loaded.get(CART_SESSION_KEY)
    if not isinstance(cart, dict) or not cart.get("units"):
        return None
    return session.session_key
