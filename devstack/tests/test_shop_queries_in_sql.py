"""The listing queries the shop's pages and API send get the same answers when SQLite answers them.

Every aggregation product_list and category_facets send for a spread of filters, sorts and pages
is recorded, then replayed on two servers holding a copy of the catalog: mongoeco's SQLite engine
with every fix (what `make run` uses, reads in SQL) and its memory engine without the speed-ups
(mongoeco's own matching and sorting in Python). The answers must be equal, and the listing pages
must have been answered in SQL, a category's pages from the listing indexes (shop/models.py).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from devstack import mongoeco_compat
from devstack.mongoeco_compat.reads import SQL_MARKER, companion_name
from devstack.testing import wire_server
from shop import demo, selectors, services
from shop.selectors import SORTS, ProductQuery

COLLECTIONS = ("shop_category", "shop_product")
SPEED_UPS = (
    mongoeco_compat.SQL_READS,
    mongoeco_compat.COUNT_SHORTCUT,
    mongoeco_compat.SELF_ASSIGNMENTS,
    mongoeco_compat.FEATURES_FOLLOW_WRITES,
)


def listing_queries() -> list[ProductQuery]:
    """Each filter the pages and API offer, alone and combined, under every sort; and a later page."""
    filters: list[dict[str, Any]] = [
        {},
        {"category": "clothing"},  # with its subcategories
        {"category": "t-shirts"},
        {"search": "red"},
        {"search": "TEE"},
        {"min_price": Decimal("20")},
        {"max_price": Decimal("49.99")},
        {"min_price": Decimal("10.5"), "max_price": Decimal("80")},
        {"in_stock": True},
        {"attributes": {"colour": "red"}},
        {"attributes": {"size": "M", "material": "cotton"}},
        {"attributes": {"size": "40"}},  # numeric-looking: matched as text, float and int
        {"category": "clothing", "search": "shirt", "in_stock": True, "max_price": Decimal("150")},
        {"category": "shoes", "attributes": {"colour": "black"}, "min_price": Decimal("31")},
    ]
    return [
        ProductQuery(**spec, sort=sort, page=page, page_size=page_size)
        for spec in filters
        for sort, page, page_size in [*((sort, 1, 24) for sort in SORTS), ("price", 2, 5)]
    ]


@pytest.fixture
def recorded(db, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[dict[str, Any]]]]:
    """Load a demo catalog, run every listing query, and return the aggregations they sent."""
    categories = {}
    for category in demo.categories():
        if category.parent is not None:
            category.parent = categories[category.parent.slug]
        categories[category.slug] = services.category_saved(category=category)
    services.products_import(products=demo.products(categories, size=150, seed=3))

    sent: list[tuple[str, list[dict[str, Any]]]] = []
    collection_class = type(connection.get_collection("shop_product"))
    aggregate = collection_class.aggregate

    def recording(self: Any, pipeline: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        sent.append((self.name, pipeline))
        return aggregate(self, pipeline, *args, **kwargs)

    monkeypatch.setattr(collection_class, "aggregate", recording)
    for query in listing_queries():
        assert selectors.product_list(query) is not None
    for slug in ("clothing", "books"):
        selectors.category_facets(slug)
    return [(name, pipeline) for name, pipeline in sent if name in COLLECTIONS]


def copy_catalog(client: Any) -> None:
    for name in COLLECTIONS:
        source = connection.get_collection(name)
        for index in source.list_indexes():
            if index["name"] != "_id_":
                client.tienda[name].create_index(list(index["key"].items()), name=index["name"])
        client.tienda[name].insert_many(list(source.find()))


def listing_companions(client: Any) -> set[str]:
    """The SQLite indexes the engine made for the product listing indexes."""
    return {
        companion_name("tienda", "shop_product", tuple(index["key"].items()))
        for index in client.tienda.shop_product.list_indexes()
        if index["name"].startswith("product_listing_")
    }


def test_listing_queries_answer_the_same_in_sql(recorded, tmp_path) -> None:
    assert len(recorded) > len(listing_queries())
    with (
        wire_server(sqlite_path=tmp_path / "run.sqlite3") as fast,
        wire_server(without=SPEED_UPS) as reference,
    ):
        copy_catalog(fast)
        copy_catalog(reference)
        listing_indexes = listing_companions(fast)
        assert len(listing_indexes) == 3
        in_sql = from_listing_index = 0
        for name, pipeline in recorded:
            assert list(fast.tienda[name].aggregate(pipeline)) == list(reference.tienda[name].aggregate(pipeline)), (
                json.dumps(pipeline, default=str)
            )
            if name == "shop_product" and any("$sort" in stage for stage in pipeline):
                command = {"aggregate": name, "pipeline": pipeline, "cursor": {}}
                plan = json.dumps(fast.tienda.command("explain", command), default=str)
                assert SQL_MARKER in plan
                in_sql += 1
                if "category_id" in json.dumps(pipeline, default=str):
                    assert any(index in plan for index in listing_indexes), json.dumps(pipeline, default=str)
                    from_listing_index += 1
    assert in_sql > len(listing_queries()) * 3 // 4  # every query with results sent a page
    assert from_listing_index >= 3 * len(SORTS)  # three category filters, each under every sort
