"""What several shop test modules do: edit a product inline in the admin, call something many
times at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.http import HttpResponse
from django.test import Client

from shop.models import Product


def admin_inline_edit(client: Client, product: Product, *, price: str, stock: str) -> HttpResponse:
    """Change a product's price and stock inline in the admin's product list, as staff do."""
    return client.post(
        f"/admin/shop/product/?q={product.sku}",
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk), "form-0-price": price, "form-0-stock": stock, "_save": "Save",
        },
    )  # fmt: skip


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
