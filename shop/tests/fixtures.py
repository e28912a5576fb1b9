"""A tiny catalog: a fixture for the shop tests and the security tests (each database test costs a
flush, so keep it small).

A pytest plugin (the root conftest.py lists it in ``pytest_plugins``), so every test can ask
for ``catalog``.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from shop import services


@pytest.fixture
def catalog(db) -> SimpleNamespace:
    """Two categories (one nested) and four products with varied price, stock and attributes."""
    clothing = services.category_create(name="Clothing", slug="clothing", position=1)
    shirts = services.category_create(name="T-shirts", slug="t-shirts", parent=clothing, position=2)
    books = services.category_create(name="Books", slug="books", position=3)
    linen = services.product_create(
        category=shirts, name="Linen tee", sku="TS-1", price=Decimal("19.90"), stock=12,
        description="Breathable summer linen.", attributes={"colour": "white", "size": "M"}, tags=["summer"],
    )  # fmt: skip
    wool = services.product_create(
        category=clothing, name="Wool jumper", sku="CL-1", price=Decimal("79.00"), stock=2,
        description="Warm merino wool.", attributes={"colour": "navy", "size": "L"},
    )  # fmt: skip
    sold_out = services.product_create(
        category=shirts, name="Cotton tee", sku="TS-2", price=Decimal("9.50"), stock=0,
        description="Everyday cotton.", attributes={"colour": "black", "size": "M"},
    )  # fmt: skip
    novel = services.product_create(
        category=books, name="Harbor novel", sku="BK-1", price=Decimal("14.00"), stock=40,
        description="A story by the sea.", attributes={"format": "paperback"},
    )  # fmt: skip
    return SimpleNamespace(
        clothing=clothing, shirts=shirts, books=books, linen=linen, wool=wool, sold_out=sold_out, novel=novel
    )
