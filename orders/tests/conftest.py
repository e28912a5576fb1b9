"""Shoppers, staff and a few products for the orders tests."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from accounts.models import User
from orders.models import ShippingAddress
from orders.services import CartLine, order_place
from shop import services as shop_services


def address() -> ShippingAddress:
    return ShippingAddress(full_name="Ana García", line1="Calle Mayor 1", city="Madrid", postal_code="28013")


@pytest.fixture
def people(transactional_db) -> SimpleNamespace:
    """Two shoppers and a staff member (transactional: consumers and threads use the database too)."""
    return SimpleNamespace(
        ana=User.objects.create_user("ana@example.com", "x"),
        bob=User.objects.create_user("bob@example.com", "x"),
        staff=User.objects.create_user("staff@example.com", "x", is_staff=True),
    )


@pytest.fixture
def goods(people: SimpleNamespace) -> SimpleNamespace:
    """A category with a plentiful product and a scarce one."""
    category = shop_services.category_create(name="Mugs", slug="mugs")
    mug = shop_services.product_create(category=category, name="Mug", sku="MUG-1", price=Decimal("8.50"), stock=40)
    last = shop_services.product_create(
        category=category, name="Last teapot", sku="TEA-1", price=Decimal("30"), stock=5
    )
    return SimpleNamespace(category=category, mug=mug, teapot=last)


def place(user: User, *lines: tuple[object, int]):
    return order_place(user=user, lines=[CartLine(str(pk), qty) for pk, qty in lines], address=address())
