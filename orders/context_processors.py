"""What every page's header shows about the shopper's orders (templates/base.html)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from orders.pending_badge import pending_orders_badge


def pending_orders(request: HttpRequest) -> dict[str, Any]:
    """``pending_orders_count``: the signed-in user's orders waiting for payment, read once if the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    prefetched = getattr(getattr(request, "session", None), "per_user_values", None)
    return {"pending_orders_count": cache(lambda: pending_orders_badge(user=user, prefetched=prefetched))}
