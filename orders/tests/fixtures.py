"""Shoppers, staff and a few products: fixtures for the orders tests and the security tests.

A pytest plugin (the root conftest.py lists it in ``pytest_plugins``), so every test can ask
for ``people`` and ``goods``.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from accounts.models import User
from shop import services as shop_services


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
