"""What several shop test modules do: edit a product inline in the admin."""

from __future__ import annotations

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
