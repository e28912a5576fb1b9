"""Reads of the catalog, cached aside in Redis (shop/cache.py), shared by pages and API.

Answers are plain JSON-ready dicts so one cached entry serves a template and a
serializer alike. Prices are strings ("12.50") to keep Decimal precision.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from common.api.queries import PAGE_SIZE
from shop import cache
from shop.availability import stock_left
from shop.models import Category, Product

# Namespaces (see shop/cache.py): lists and facets, the category tree, one per product, slug -> id,
# and whole pages for anonymous visitors (shop/page_cache.py; each also depends on its data's
# namespaces; bumping PAGES alone drops every cached page, after a deploy that changes templates).
PRODUCTS = "products"
CATEGORIES = "categories"
SLUGS = "slugs"
PAGES = "pages"
NAMESPACE_FAMILIES = (PRODUCTS, CATEGORIES, "product", SLUGS, PAGES)
# Raw field of product documents (not a model field): unconfirmed stock movements (shop/services.py).
STOCK_LEDGER = "stock_ledger"

MAX_SEARCH_LENGTH = 200
SORTS = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
}
DEFAULT_SORT = "newest"
NEW_ARRIVALS_COUNT = 8
# Attribute names are data, not code: only plain identifiers reach a query.
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_ATTRIBUTE_FILTERS = 5
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,6})?$")


def product_namespace(product_id: object) -> str:
    return f"product.{product_id}"


@dataclass(frozen=True)
class ProductQuery:
    """A validated product listing query (shop/queries.py parses user input into one)."""

    category: str | None = None
    search: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = PAGE_SIZE

    def cache_key(self) -> tuple[Any, ...]:
        # Not dataclasses.asdict: it deep-copies, and this runs on every cached request.
        return (
            self.category, self.search, self.min_price, self.max_price, self.in_stock,
            sorted(self.attributes.items()), self.sort, self.page, self.page_size,
        )  # fmt: skip


def _category_index(tree: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every category node of ``tree`` by id (the cached tree saves a $lookup per query)."""
    return {node["id"]: node for node in _walk(tree)}


def _category_ref(index: dict[str, dict[str, Any]], category_id: object) -> dict[str, str]:
    node = index.get(str(category_id))
    if node is None:  # created after the tree was cached; the next category write refreshes it
        category = Category.objects.get(pk=category_id)
        return {"id": str(category.pk), "name": category.name, "slug": category.slug}
    return {"id": node["id"], "name": node["name"], "slug": node["slug"]}


def _card(product: Product, index: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(product.pk),
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "price": f"{product.price:.2f}",
        "currency": product.currency,
        # No exact count in a list: the badge it shows (shop/availability.py). The detail adds "stock".
        "in_stock": product.stock > 0,
        "stock_left": stock_left(product.stock),
        "image": product.images[0] if product.images else "",
        "tags": list(product.tags),
        "attributes": dict(product.attributes),
        "category": _category_ref(index, product.category_id),
        "created_at": product.created_at.isoformat(),
    }


def _detail(product: Product) -> dict[str, Any]:
    index = _category_index(category_tree())
    breadcrumbs: list[dict[str, str]] = []
    node = index.get(str(product.category_id))
    while node is not None and len(breadcrumbs) < 10:
        breadcrumbs.insert(0, {"name": node["name"], "slug": node["slug"]})
        node = index.get(node["parent_id"]) if node["parent_id"] else None
    return {
        **_card(product, index),
        "stock": product.stock,
        "description": product.description,
        "images": list(product.images),
        "updated_at": product.updated_at.isoformat(),
        "breadcrumbs": breadcrumbs,
    }


def _filtered(query: ProductQuery, category_ids: list[ObjectId] | None) -> QuerySet[Product]:
    products = Product.objects.filter(is_active=True)
    if category_ids is not None:
        products = products.filter(category_id__in=category_ids)
    if query.search:
        products = products.filter(Q(name__icontains=query.search) | Q(description__icontains=query.search))
    if query.min_price is not None:
        products = products.filter(price__gte=query.min_price)
    if query.max_price is not None:
        products = products.filter(price__lte=query.max_price)
    if query.in_stock:
        products = products.filter(stock__gt=0)
    for name, value in sorted(query.attributes.items()):
        if not ATTRIBUTE_NAME.match(name):
            raise ValueError(f"invalid attribute name {name!r}")
        products = products.filter(_attribute_matches(name, value))
    return products


def _attribute_matches(name: str, value: str) -> Q:
    """Query strings are text; attributes may be stored as numbers ({"weight_g": 80})."""
    condition = Q(**{f"attributes__{name}": value})
    if _NUMBER.match(value):
        number = float(value)
        condition |= Q(**{f"attributes__{name}": number})
        if number.is_integer():
            condition |= Q(**{f"attributes__{name}": int(number)})
    return condition


def _category_and_descendant_ids(tree: list[dict[str, Any]], slug: str) -> list[ObjectId] | None:
    """The category's id and every descendant's, or None when the slug is not in ``tree``."""
    node = _node_by_slug(tree, slug)
    if node is None:
        return None
    return [ObjectId(item["id"]) for item in _walk([node])]


def _node_by_slug(tree: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    return next((node for node in _walk(tree) if node["slug"] == slug), None)


def _walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node["children"]))
    return found


def product_list(query: ProductQuery) -> dict[str, Any] | None:
    """One page of products; None when the query names an unknown category."""

    def build() -> dict[str, Any] | None:
        tree = category_tree()  # one read for the filter and the cards
        category_ids = None
        if query.category:
            category_ids = _category_and_descendant_ids(tree, query.category)
            if category_ids is None:
                return None
        products = _filtered(query, category_ids)
        count = products.count()
        pages = max(1, math.ceil(count / query.page_size))
        start = (query.page - 1) * query.page_size
        rows = []
        if start < count:
            page = products.order_by(*SORTS[query.sort])[start : start + query.page_size]
            index = _category_index(tree)
            rows = [_card(product, index) for product in page]
        return {"count": count, "page": query.page, "pages": pages, "page_size": query.page_size, "results": rows}

    return cache.cached(PRODUCTS, depends_on=(CATEGORIES,), key=query.cache_key(), build=build)


def new_arrivals() -> list[dict[str, Any]]:
    """The newest products on sale, as cards (the home page)."""
    listing = product_list(ProductQuery(sort="newest", page_size=NEW_ARRIVALS_COUNT)) or {}
    return listing.get("results", [])


def product_detail_by_id(product_id: str) -> dict[str, Any] | None:
    """A product page's data by id; None when there is no such product on sale."""
    try:
        oid = ObjectId(product_id)
    except (InvalidId, TypeError):
        return None

    def build() -> dict[str, Any] | None:
        product = Product.objects.filter(pk=oid, is_active=True).first()
        return _detail(product) if product else None

    return cache.cached(product_namespace(oid), depends_on=(CATEGORIES,), key=str(oid), build=build)


def product_detail_for_staff(product_id: object) -> dict[str, Any] | None:
    """A product's data whether or not it is on sale; uncached (staff answers after writes)."""
    product = Product.objects.filter(pk=product_id).first()
    return {**_detail(product), "is_active": product.is_active} if product else None


def product_id_for_slug(slug: str) -> str | None:
    """Resolve a slug through the cache (the mapping only changes when slugs do)."""

    def build() -> str | None:
        pk = Product.objects.filter(slug=slug, is_active=True).values_list("pk", flat=True).first()
        return str(pk) if pk else None

    return cache.cached(SLUGS, key=slug, build=build)


def product_detail_by_slug(slug: str) -> dict[str, Any] | None:
    """A product page's data by slug; None when unknown."""
    product_id = product_id_for_slug(slug)
    return product_detail_by_id(product_id) if product_id else None


def category_tree() -> list[dict[str, Any]]:
    """Every category as a tree of {id, name, slug, description, children}, in display order."""

    def build() -> list[dict[str, Any]]:
        categories = list(Category.objects.order_by("position", "name"))
        nodes = {
            category.pk: {
                "id": str(category.pk),
                "name": category.name,
                "slug": category.slug,
                "description": category.description,
                "parent_id": str(category.parent_id) if category.parent_id else None,
                "children": [],
            }
            for category in categories
        }
        roots = []
        for category in categories:
            node = nodes[category.pk]
            parent = nodes.get(category.parent_id)
            (parent["children"] if parent else roots).append(node)
        return roots

    return cache.cached(CATEGORIES, key="tree", build=build)


def category_by_slug(slug: str) -> dict[str, Any] | None:
    """A category node (with children) from the cached tree."""
    return _node_by_slug(category_tree(), slug)


def category_facets(slug: str) -> dict[str, list[str]]:
    """Attribute names and their values among a category's products, for the filter form."""

    def build() -> dict[str, list[str]]:
        category_ids = _category_and_descendant_ids(category_tree(), slug) or []
        values: dict[str, set[str]] = {}
        # No order: the values go into sets (and an order is a sort, over every product of the category).
        rows = (
            Product.objects.filter(is_active=True, category_id__in=category_ids)
            .order_by()
            .values_list("attributes", flat=True)
        )
        for attributes in rows:
            for name, value in (attributes or {}).items():
                if ATTRIBUTE_NAME.match(name) and isinstance(value, str | int | float):
                    values.setdefault(name, set()).add(str(value))
        return {name: sorted(found) for name, found in sorted(values.items())}

    return cache.cached(PRODUCTS, depends_on=(CATEGORIES,), key={"facets": slug}, build=build)


def stock_ledger_entries(*, recorded_before: datetime) -> list[tuple[ObjectId, dict[str, Any]]]:
    """Stock movements not yet confirmed and recorded before ``recorded_before``: (product id, entry).

    Read straight from MongoDB (never cached): the caller that made a movement settles it.
    """
    products = connection.get_collection(Product._meta.db_table)
    found = []
    for document in products.find({f"{STOCK_LEDGER}.0": {"$exists": True}}, {STOCK_LEDGER: 1}):
        for entry in document[STOCK_LEDGER]:
            at = entry.get("at")
            if at is not None and timezone.is_naive(at):  # pymongo hands back naive UTC
                at = at.replace(tzinfo=UTC)
            if at is None or at < recorded_before:
                found.append((document["_id"], entry))
    return found


def cache_stats() -> dict[str, dict[str, int | float]]:
    """Hit, miss, rebuild and invalidation counts per namespace family."""
    return cache.stats(NAMESPACE_FAMILIES)
