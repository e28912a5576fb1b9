"""Every catalog write path leaves no stale answer behind: the very next read shows it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import demo, services
from shop.models import Product
from shop.selectors import (
    ProductQuery,
    category_tree,
    product_detail_by_id,
    product_detail_by_slug,
    product_list,
    stock_ledger_entries,
)


def names(query: ProductQuery) -> list[str]:
    answer = product_list(query)
    assert answer is not None
    return [row["name"] for row in answer["results"]]


def test_code_update_is_visible_in_detail_and_lists(catalog: SimpleNamespace) -> None:
    pk = str(catalog.linen.pk)
    assert product_detail_by_id(pk)["price"] == "19.90"
    assert "Linen tee" in names(ProductQuery(category="t-shirts"))
    services.product_update(product=catalog.linen, price=Decimal("17.50"), name="Linen tee II")
    assert product_detail_by_id(pk)["price"] == "17.50"
    assert "Linen tee II" in names(ProductQuery(category="t-shirts"))


def test_slug_change_moves_the_page(catalog: SimpleNamespace) -> None:
    assert product_detail_by_slug("linen-tee")["name"] == "Linen tee"
    services.product_update(product=catalog.linen, slug="linen-tee-white")
    assert product_detail_by_slug("linen-tee") is None
    assert product_detail_by_slug("linen-tee-white")["name"] == "Linen tee"


def test_bulk_update_reaches_every_cached_answer(catalog: SimpleNamespace) -> None:
    ids = [catalog.linen.pk, catalog.wool.pk]
    before = {str(pk): product_detail_by_id(str(pk))["price"] for pk in ids}
    assert before == {str(catalog.linen.pk): "19.90", str(catalog.wool.pk): "79.00"}
    assert names(ProductQuery(sort="price"))[-1] == "Wool jumper"
    services.products_bulk_update(product_ids=ids, price_factor=Decimal("0.5"))
    assert product_detail_by_id(str(catalog.linen.pk))["price"] == "9.95"
    assert product_detail_by_id(str(catalog.wool.pk))["price"] == "39.50"
    assert names(ProductQuery(sort="price"))[-1] == "Wool jumper"
    assert names(ProductQuery(sort="-price"))[0] == "Wool jumper"
    services.products_bulk_update(product_ids=[catalog.wool.pk], is_active=False)
    assert product_detail_by_id(str(catalog.wool.pk)) is None
    assert "Wool jumper" not in names(ProductQuery())


def test_category_rename_reaches_product_pages_and_tree(catalog: SimpleNamespace) -> None:
    assert product_detail_by_id(str(catalog.linen.pk))["category"]["name"] == "T-shirts"
    assert [node["name"] for node in category_tree()[0]["children"]] == ["T-shirts"]
    services.category_update(category=catalog.shirts, name="Tees")
    assert product_detail_by_id(str(catalog.linen.pk))["category"]["name"] == "Tees"
    assert [node["name"] for node in category_tree()[0]["children"]] == ["Tees"]


def test_delete_and_import_reach_lists(catalog: SimpleNamespace) -> None:
    assert "Harbor novel" in names(ProductQuery(category="books"))
    services.product_delete(product=catalog.novel)
    assert names(ProductQuery(category="books")) == []
    services.products_import(
        products=[Product(category=catalog.books, name="Atlas", slug="atlas", sku="BK-2", price=Decimal(5))]
    )
    assert names(ProductQuery(category="books")) == ["Atlas"]


def test_stock_take_is_conditional_and_invalidates(catalog: SimpleNamespace) -> None:
    assert product_detail_by_id(str(catalog.wool.pk))["stock"] == 2
    assert services.product_stock_take(product_id=catalog.wool.pk, quantity=3, key="a") is False
    assert services.product_stock_take(product_id=catalog.wool.pk, quantity=2, key="a") is True
    assert product_detail_by_id(str(catalog.wool.pk))["in_stock"] is False
    assert "Wool jumper" not in names(ProductQuery(in_stock=True))
    services.product_stock_return(product_id=catalog.wool.pk, quantity=1, key="b")
    assert product_detail_by_id(str(catalog.wool.pk))["stock"] == 1


def test_each_stock_movement_happens_once_per_key_and_can_be_undone(catalog: SimpleNamespace) -> None:
    linen = catalog.linen.pk
    assert services.product_stock_take(product_id=linen, quantity=5, key="order:1:take") is True
    assert services.product_stock_take(product_id=linen, quantity=5, key="order:1:take") is False  # a retry
    assert services.product_stock_return(product_id=linen, quantity=2, key="order:2:return") is True
    assert services.product_stock_return(product_id=linen, quantity=2, key="order:2:return") is False
    assert Product.objects.get(pk=linen).stock == 12 - 5 + 2
    assert sorted((entry["key"], entry["delta"]) for _, entry in ledger()) == [
        ("order:1:take", -5),
        ("order:2:return", 2),
    ]
    assert services.product_stock_undo(product_id=linen, key="order:1:take", delta=-5) is True
    assert services.product_stock_undo(product_id=linen, key="order:1:take", delta=-5) is False
    assert product_detail_by_id(str(linen))["stock"] == 12 + 2
    services.product_stock_confirm(product_ids=[linen], key="order:2:return")
    assert ledger() == []
    assert Product.objects.get(pk=linen).stock == 14


def test_saving_a_product_keeps_its_stock_ledger(catalog: SimpleNamespace) -> None:
    services.product_stock_take(product_id=catalog.novel.pk, quantity=1, key="order:3:take")
    product = Product.objects.get(pk=catalog.novel.pk)
    services.product_update(product=product, name="Harbour novel")
    services.product_saved(product=product, changed_fields=["name"])
    assert [entry["key"] for _, entry in ledger()] == ["order:3:take"]


def ledger() -> list[tuple[object, dict]]:
    return stock_ledger_entries(recorded_before=timezone.now() + timedelta(days=1))


def test_a_create_asks_mongodb_nothing_it_already_knows(catalog: SimpleNamespace) -> None:
    with CaptureQueriesContext(connection) as asked:
        services.product_create(category=catalog.books, name="Quiet atlas", sku="BK-77", price=Decimal("30.00"))
    sent = [query["sql"] for query in asked.captured_queries]
    assert not [query for query in sent if "shop_category" in query], "the caller read the category"
    assert len([query for query in sent if "{'$match': {'slug'" in query]) == 1, "unique_slug found it free"
    assert len([query for query in sent if "{'$match': {'sku'" in query]) == 1, "the sku is checked"
    with pytest.raises(ValidationError) as error:
        services.product_create(category=catalog.books, name="Atlas", slug="quiet-atlas", sku="BK-78", price=Decimal(1))
    assert "slug" in error.value.message_dict, "a slug the caller chose is checked"


def test_invalid_writes_are_refused_before_the_database(catalog: SimpleNamespace) -> None:
    with pytest.raises(ValidationError) as error:
        services.product_create(category=catalog.books, name="Dup", sku="BK-1", price=Decimal(1))
    assert "sku" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.product_update(product=catalog.novel, price=Decimal("-1"))
    with pytest.raises(ValidationError) as error:
        services.category_update(category=catalog.clothing, parent=catalog.shirts)
    assert "inside itself" in str(error.value)
    assert Product.objects.get(pk=catalog.novel.pk).price == Decimal("14.00")


@pytest.mark.django_db
def test_demo_catalog_is_deterministic_and_realistic() -> None:
    categories = {category.slug: category for category in demo.categories()}
    first = list(demo.products(categories, size=400, seed=3))
    second = list(demo.products(categories, size=400, seed=3))
    assert [p.sku for p in first] == [p.sku for p in second]
    assert [p.price for p in first] == [p.price for p in second]
    assert len({p.category.slug for p in first}) == len(demo.CATEGORIES) >= 10
    assert any(p.stock == 0 for p in first), "a real shop has sold-out products"
    assert len({p.slug for p in first}) == len({p.sku for p in first}) == 400
    assert all(p.attributes for p in first)
    # No product page says the same sentence twice ("A favourite… A favourite…").
    for product in first:
        one, two = product.description.removeprefix(f"{product.name}. ").split(". ")
        assert f"{one}." != two, product.description
