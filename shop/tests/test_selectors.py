"""Catalog reads: filters, search, sorting, pagination, and serving without Redis."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from django.test import override_settings

from common.tests.helpers import redis_down_caches
from shop.selectors import ProductQuery, category_facets, product_detail_by_id, product_detail_by_slug, product_list


def names(**query: object) -> list[str]:
    answer = product_list(ProductQuery(**query))
    assert answer is not None
    return [row["name"] for row in answer["results"]]


def test_category_listing_includes_subcategories(catalog: SimpleNamespace) -> None:
    assert sorted(names(category="clothing")) == ["Cotton tee", "Linen tee", "Wool jumper"]
    assert sorted(names(category="t-shirts")) == ["Cotton tee", "Linen tee"]
    assert product_list(ProductQuery(category="no-such-category")) is None


def test_filters_search_and_sorting(catalog: SimpleNamespace) -> None:
    assert names(sort="price") == ["Cotton tee", "Harbor novel", "Linen tee", "Wool jumper"]
    assert names(sort="-price")[0] == "Wool jumper"
    assert names(sort="name") == ["Cotton tee", "Harbor novel", "Linen tee", "Wool jumper"]
    assert names(min_price=Decimal("10"), max_price=Decimal("20"), sort="price") == ["Harbor novel", "Linen tee"]
    assert "Cotton tee" not in names(in_stock=True)
    assert names(attributes={"colour": "white"}) == ["Linen tee"]
    assert sorted(names(attributes={"size": "M"})) == ["Cotton tee", "Linen tee"]
    assert names(search="merino") == ["Wool jumper"], "description is searched"
    assert names(search="LINEN") == ["Linen tee"], "case-insensitive"
    assert names(search="(.*") == [], "regex characters are literal text"
    assert names(search='{"$gt": ""}') == []


def test_pagination(catalog: SimpleNamespace) -> None:
    first = product_list(ProductQuery(sort="price", page_size=3))
    second = product_list(ProductQuery(sort="price", page_size=3, page=2))
    beyond = product_list(ProductQuery(sort="price", page_size=3, page=9))
    assert (first["count"], first["pages"], len(first["results"])) == (4, 2, 3)
    assert [row["name"] for row in second["results"]] == ["Wool jumper"]
    assert beyond["results"] == []
    assert beyond["count"] == 4


def test_detail_and_facets(catalog: SimpleNamespace) -> None:
    detail = product_detail_by_slug("linen-tee")
    assert detail["attributes"] == {"colour": "white", "size": "M"}
    assert [crumb["slug"] for crumb in detail["breadcrumbs"]] == ["clothing", "t-shirts"]
    assert product_detail_by_id("not-an-object-id") is None
    assert product_detail_by_id("000000000000000000000000") is None
    assert category_facets("clothing") == {"colour": ["black", "navy", "white"], "size": ["L", "M"]}


def test_catalog_is_served_when_redis_is_down(catalog: SimpleNamespace, settings) -> None:
    dead = redis_down_caches(settings.CACHES)
    with override_settings(CACHES=dead):
        assert sorted(names(category="t-shirts")) == ["Cotton tee", "Linen tee"]
        assert product_detail_by_slug("harbor-novel")["sku"] == "BK-1"


def test_numeric_attributes_match_their_text_form(catalog: SimpleNamespace) -> None:
    from shop import services

    services.product_update(product=catalog.novel, attributes={"format": "paperback", "pages": 320})
    assert names(attributes={"pages": "320"}) == ["Harbor novel"]
    assert names(attributes={"pages": "320.0"}) == ["Harbor novel"]
    assert names(attributes={"pages": "32"}) == []
