"""Orders for tests, placed through the service as a checkout places them."""

from __future__ import annotations

from accounts.models import User
from orders.models import Order, ShippingAddress
from orders.services import CartLine, order_place


def address() -> ShippingAddress:
    return ShippingAddress(full_name="Ana García", line1="Calle Mayor 1", city="Madrid", postal_code="28013")


def place(user: User, *lines: tuple[object, int]) -> Order:
    """An order for ``user`` of (product id, quantity) ``lines``, shipped to ``address()``."""
    return order_place(user=user, lines=[CartLine(str(pk), qty) for pk, qty in lines], address=address())
