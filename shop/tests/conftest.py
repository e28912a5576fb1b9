"""A tiny catalog for the shop tests (each database test costs a flush, so keep it small)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.http import HttpResponse
from django.test import Client

from shop import cache, services
from shop.models import Product


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


def admin_inline_edit(client: Client, product: Product, *, price: str, stock: str) -> HttpResponse:
    """Change a product's price and stock inline in the admin's product list, as staff do."""
    return client.post(
        f"/admin/shop/product/?q={product.sku}",
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk), "form-0-price": price, "form-0-stock": stock, "_save": "Save",
        },
    )  # fmt: skip


@pytest.fixture
def patient_stampede(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiters wait as long as the rebuild takes: on a machine busy enough that one rebuild outlasts
    the 5 s wait, a waiter's own rebuild (the fallback) would be counted as a stampede."""
    monkeypatch.setattr(cache, "WAIT_FOR_REBUILD_SECONDS", 60.0)
    monkeypatch.setattr(cache, "LOCK_TTL_MS", 90_000)


def all_at_once[T](count: int, call: Callable[[], T], *, timeout: float = 60) -> list[T]:
    """Run ``call`` in ``count`` threads released together (a stampede); the answers that came back."""
    barrier = threading.Barrier(count)
    answers: list[T] = []

    def run() -> None:
        barrier.wait()
        answers.append(call())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return answers
