"""The catalog admin: every save path goes through the services, so pages never go stale."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.test import Client

from shop.models import Product
from shop.selectors import ProductQuery, product_detail_by_id, product_list
from shop.tests.helpers import admin_inline_edit


def test_change_form_save_is_visible_at_once(admin_client: Client, catalog: SimpleNamespace) -> None:
    pk = str(catalog.novel.pk)
    assert product_detail_by_id(pk)["name"] == "Harbor novel"  # warm the cache
    page = admin_client.get(f"/admin/shop/product/{pk}/change/")
    assert page.status_code == 200
    form = {
        "name": "Harbor novel (2nd ed.)", "slug": "harbor-novel", "sku": "BK-1", "category": str(catalog.books.pk),
        "is_active": "on", "price": "15.00", "currency": "EUR", "stock": "40", "description": "A story by the sea.",
        "images": "", "tags": "", "attributes": '{"format": "hardcover"}',
        "created_at_0": "2026-01-01", "created_at_1": "10:00:00",
    }  # fmt: skip
    response = admin_client.post(f"/admin/shop/product/{pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    detail = product_detail_by_id(pk)
    assert (detail["name"], detail["price"], detail["attributes"]) == (
        "Harbor novel (2nd ed.)", "15.00", {"format": "hardcover"},
    )  # fmt: skip


def test_changelist_inline_edit_of_price_and_stock(admin_client: Client, catalog: SimpleNamespace) -> None:
    assert "Linen tee" in [row["name"] for row in product_list(ProductQuery(in_stock=True))["results"]]
    page = admin_client.get("/admin/shop/product/?q=Linen")
    assert page.status_code == 200
    assert b'name="form-0-price"' in page.content
    response = admin_inline_edit(admin_client, catalog.linen, price="21.00", stock="0")
    assert response.status_code == 302
    detail = product_detail_by_id(str(catalog.linen.pk))
    assert (detail["price"], detail["stock"]) == ("21.00", 0)
    assert "Linen tee" not in [row["name"] for row in product_list(ProductQuery(in_stock=True))["results"]]


def test_bulk_action_and_delete(admin_client: Client, catalog: SimpleNamespace) -> None:
    assert product_detail_by_id(str(catalog.wool.pk)) is not None
    response = admin_client.post(
        "/admin/shop/product/", {"action": "take_off_sale", "_selected_action": [str(catalog.wool.pk)]}
    )
    assert response.status_code == 302
    assert product_detail_by_id(str(catalog.wool.pk)) is None
    response = admin_client.post(
        "/admin/shop/product/",
        {"action": "delete_selected", "_selected_action": [str(catalog.novel.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Product.objects.filter(pk=catalog.novel.pk).exists()
    assert product_list(ProductQuery(category="books"))["count"] == 0


def test_changelist_filters_and_search_render(admin_client: Client, catalog: SimpleNamespace) -> None:
    for query in ("", "?stock_state=out", "?stock_state=low", f"?category__id__exact={catalog.books.pk}", "?q=TS-"):
        response = admin_client.get(f"/admin/shop/product/{query}")
        assert response.status_code == 200, query
    assert b"Cotton tee" in admin_client.get("/admin/shop/product/?stock_state=out").content
    assert b"Linen tee" not in admin_client.get("/admin/shop/product/?stock_state=out").content
    assert admin_client.get("/admin/shop/category/").status_code == 200


def test_category_cannot_become_its_own_ancestor(admin_client: Client, catalog: SimpleNamespace) -> None:
    response = admin_client.post(
        f"/admin/shop/category/{catalog.clothing.pk}/change/",
        {"name": "Clothing", "slug": "clothing", "parent": str(catalog.shirts.pk), "description": "", "position": "1"},
    )
    assert response.status_code == 200
    assert b"cannot be inside itself" in response.content


def test_cache_stats_page_is_for_staff_only(admin_client: Client, catalog: SimpleNamespace, client: Client) -> None:
    product_detail_by_id(str(catalog.linen.pk))
    product_detail_by_id(str(catalog.linen.pk))
    page = admin_client.get("/staff/cache/")
    assert page.status_code == 200
    assert b"Hit ratio" in page.content
    stats = admin_client.get("/staff/cache.json").json()["namespaces"]
    assert stats["product"]["hit"] >= 1
    assert stats["products"]["invalidation"] >= 4
    assert b"/staff/cache/" in admin_client.get("/admin/").content
    assert client.get("/staff/cache.json").status_code == 302
    client.force_login(get_user_model().objects.create_user("ana@example.com", "x"))
    assert client.get("/staff/cache.json").status_code == 302
