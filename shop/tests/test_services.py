"""Every catalog write path leaves no stale answer behind: the very next read shows it."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from shop import demo, services
from shop.models import Product
from shop.selectors import ProductQuery, category_tree, product_detail_by_id, product_detail_by_slug, product_list


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
    assert services.product_stock_take(product_id=catalog.wool.pk, quantity=3) is False
    assert services.product_stock_take(product_id=catalog.wool.pk, quantity=2) is True
    assert product_detail_by_id(str(catalog.wool.pk))["in_stock"] is False
    assert "Wool jumper" not in names(ProductQuery(in_stock=True))
    services.product_stock_return(product_id=catalog.wool.pk, quantity=1)
    assert product_detail_by_id(str(catalog.wool.pk))["stock"] == 1


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
