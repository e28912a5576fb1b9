"""Writes on the catalog. Every product or category change goes through here, so the
cache is invalidated exactly once the database holds the new data (shop/cache.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from bson import Int64, ObjectId
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from pymongo import ReturnDocument

from shop import cache
from shop.availability import stock_change_shows_in_lists
from shop.models import Category, Product
from shop.selectors import CATEGORIES, PRODUCTS, SLUGS, STOCK_LEDGER, product_namespace

PRODUCT_FIELDS = frozenset(
    {"category", "name", "slug", "sku", "description", "price", "currency", "stock", "images", "tags",
     "attributes", "is_active"}
)  # fmt: skip
CATEGORY_FIELDS = frozenset({"name", "slug", "parent", "description", "position"})


def _products_changed(product_ids: Iterable[object], *, slugs_changed: bool) -> None:
    namespaces = [PRODUCTS, *(product_namespace(pk) for pk in product_ids)]
    if slugs_changed:
        namespaces.append(SLUGS)
    cache.invalidate(*namespaces)


def _categories_changed() -> None:
    # Category names appear in product pages and lists, so this one bump reaches them all.
    cache.invalidate(CATEGORIES, PRODUCTS, SLUGS)


def unique_slug(model: type[Product] | type[Category], text: str, *, exclude_pk: object = None) -> str:
    """``slugify(text)``, suffixed with -2, -3... until no other row uses it."""
    base = slugify(text)[:200] or "item"
    slug, n = base, 1
    taken = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def product_create(
    *,
    category: Category,
    name: str,
    sku: str,
    price: Decimal,
    stock: int = 0,
    slug: str = "",
    currency: str = "EUR",
    description: str = "",
    images: Sequence[str] = (),
    tags: Sequence[str] = (),
    attributes: dict[str, Any] | None = None,
    is_active: bool = True,
) -> Product:
    """Validate and store a new product.

    A slug made here was found free a moment ago, and a saved ``category`` was read from the
    database by the caller: validation does not ask MongoDB about either again (the unique index
    on slug still decides a race, as it does for a checked one).
    """
    product = Product(
        category=category,
        name=name,
        slug=slug or unique_slug(Product, name),
        sku=sku,
        price=price,
        stock=stock,
        currency=currency,
        description=description,
        images=list(images),
        tags=list(tags),
        attributes=dict(attributes or {}),
        is_active=is_active,
    )
    known = ["slug"] if not slug else []
    if category is not None and not category._state.adding:  # loaded from (or saved to) the database
        known.append("category")
    product.full_clean(exclude=known)
    product.save()
    _products_changed([product.pk], slugs_changed=True)
    return product


def product_update(*, product: Product, **changes: Any) -> Product:
    """Apply ``changes`` (model field names) to ``product``, validate and store."""
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"not product fields: {sorted(unknown)}")
    old_slug, old_active = Product.objects.filter(pk=product.pk).values_list("slug", "is_active").get()
    for name, value in changes.items():
        setattr(product, name, value)
    product.full_clean()
    product.save()
    slugs_changed = product.slug != old_slug or product.is_active != old_active
    _products_changed([product.pk], slugs_changed=slugs_changed)
    return product


def product_saved(*, product: Product, changed_fields: Iterable[str] = ()) -> Product:
    """Record a save made by a validated ModelForm (Django admin): store, then invalidate."""
    slugs_changed = product.pk is None or bool({"slug", "is_active"} & set(changed_fields))
    product.save()
    _products_changed([product.pk], slugs_changed=slugs_changed)
    return product


def product_delete(*, product: Product) -> None:
    """Remove a product; its pages and every list showing it go at once."""
    pk = product.pk
    product.delete()
    _products_changed([pk], slugs_changed=True)


def products_delete(*, product_ids: Sequence[ObjectId]) -> int:
    """Remove many products (admin bulk delete)."""
    deleted, _ = Product.objects.filter(pk__in=list(product_ids)).delete()
    _products_changed(product_ids, slugs_changed=True)
    return deleted


def products_bulk_update(
    *, product_ids: Sequence[ObjectId], price_factor: Decimal | None = None, **changes: Any
) -> int:
    """One update for many products, e.g. a sale (``price_factor=Decimal("0.9")``) or a stock reset."""
    unknown = set(changes) - (PRODUCT_FIELDS - {"slug", "category"})
    if unknown:
        raise TypeError(f"not bulk-updatable product fields: {sorted(unknown)}")
    ids = list(product_ids)
    updates: dict[str, Any] = dict(changes)
    if price_factor is not None:
        updates["price"] = F("price") * price_factor
    updated = Product.objects.filter(pk__in=ids).update(**updates) if updates else 0
    if price_factor is not None:
        # Keep two decimal places after the multiplication.
        for pk, price in Product.objects.filter(pk__in=ids).values_list("pk", "price"):
            Product.objects.filter(pk=pk).update(price=Decimal(price).quantize(Decimal("0.01")))
    _products_changed(ids, slugs_changed="is_active" in changes)
    return updated


def products_import(
    *, products: Iterable[Product], batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Bulk-create products (demo catalog, imports) in batches; lists are invalidated once."""
    batch: list[Product] = []
    created = 0
    for product in products:
        batch.append(product)
        if len(batch) >= batch_size:
            created += len(Product.objects.bulk_create(batch, batch_size=batch_size))
            batch.clear()
            if progress:
                progress(created)
    if batch:
        created += len(Product.objects.bulk_create(batch, batch_size=batch_size))
        if progress:
            progress(created)
    cache.invalidate(PRODUCTS, SLUGS)
    return created


def category_create(
    *, name: str, slug: str = "", parent: Category | None = None, description: str = "", position: int = 0
) -> Category:
    """Validate and store a new category."""
    category = Category(
        name=name,
        slug=slug or unique_slug(Category, name),
        parent=parent,
        description=description,
        position=position,
    )
    category.full_clean()
    category.save()
    _categories_changed()
    return category


def category_update(*, category: Category, **changes: Any) -> Category:
    """Apply ``changes`` to ``category``; refuses to make it its own ancestor."""
    unknown = set(changes) - CATEGORY_FIELDS
    if unknown:
        raise TypeError(f"not category fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(category, name, value)
    category_check_parent(category=category)
    category.full_clean()
    category.save()
    _categories_changed()
    return category


def category_saved(*, category: Category) -> Category:
    """Record a save made by a validated ModelForm (Django admin)."""
    category.save()
    _categories_changed()
    return category


def category_check_parent(*, category: Category) -> None:
    """Raise ValidationError when the parent chain loops back to ``category``."""
    from django.core.exceptions import ValidationError

    node = category.parent
    seen = 0
    while node is not None and seen < 50:
        if node.pk == category.pk:
            raise ValidationError({"parent": "A category cannot be inside itself or its own subcategory."})
        node = node.parent
        seen += 1


def category_delete(*, category: Category) -> None:
    """Remove a category that has no products or subcategories (PROTECT refuses otherwise)."""
    category.delete()
    _categories_changed()


# --- Stock ---------------------------------------------------------------------------------
# Every stock movement for an order is one conditional update of the product document that also
# records an idempotency key in the product's ``stock_ledger`` (a raw field, not a model field:
# the ORM never reads or overwrites it). With the key there, a movement happens at most once,
# and one that was never confirmed (the order insert failed, MongoDB went away) can be found and
# undone later by the code that made it (it owns the keys), without transactions.


def _products() -> Any:
    return connection.get_collection(Product._meta.db_table)


def _stock_value(quantity: int) -> Int64:
    # As the backend stores integers: mongoeco's SQLite engine, unlike MongoDB, does not match
    # an int32 filter against a stored Int64.
    return Int64(quantity)


def _stock_move(match: dict[str, Any], update: dict[str, Any]) -> bool:
    """Apply one conditional stock update; invalidate what it changed. False when nothing matched.

    The update hands back the stock it left, so the count before it is exact for this very update
    however many run at once: each one sees its own step of the product's sequence of counts, and
    the step that crosses a badge boundary is the one that bumps the lists (decision 0005).
    """
    after = _products().find_one_and_update(
        match, update, projection={"_id": 0, "stock": 1}, return_document=ReturnDocument.AFTER
    )
    if after is None:
        return False
    new = int(after["stock"])
    _stock_changed(match["_id"], old=new - int(update["$inc"]["stock"]), new=new)
    return True


def _stock_changed(product_id: ObjectId, *, old: int, new: int) -> None:
    # The product's page and API answer show the exact count: always. Lists show a badge: only
    # when it changes (shop/availability.py); this also drops the anonymous pages (shop/page_cache.py).
    namespaces = [product_namespace(product_id)]
    if stock_change_shows_in_lists(old=old, new=new):
        namespaces.append(PRODUCTS)
    cache.invalidate(*namespaces)


def product_stock_take(*, product_id: ObjectId, quantity: int, key: str) -> bool:
    """Take ``quantity`` units if that many are left, once per ``key``; False when not enough stock."""
    return _stock_move(
        {"_id": product_id, "stock": {"$gte": _stock_value(quantity)}, f"{STOCK_LEDGER}.key": {"$ne": key}},
        {
            "$inc": {"stock": _stock_value(-quantity)},
            "$push": {STOCK_LEDGER: {"key": key, "delta": _stock_value(-quantity), "at": timezone.now()}},
        },
    )


def product_stock_return(*, product_id: ObjectId, quantity: int, key: str) -> bool:
    """Put ``quantity`` units back, once per ``key``; False when ``key`` was already applied."""
    return _stock_move(
        {"_id": product_id, f"{STOCK_LEDGER}.key": {"$ne": key}},
        {
            "$inc": {"stock": _stock_value(quantity)},
            "$push": {STOCK_LEDGER: {"key": key, "delta": _stock_value(quantity), "at": timezone.now()}},
        },
    )


def product_stock_undo(*, product_id: ObjectId, key: str, delta: int) -> bool:
    """Reverse the movement recorded under ``key`` (``delta`` as recorded) and drop the entry."""
    return _stock_move(
        {"_id": product_id, STOCK_LEDGER: {"$elemMatch": {"key": key, "delta": _stock_value(delta)}}},
        {"$inc": {"stock": _stock_value(-delta)}, "$pull": {STOCK_LEDGER: {"key": key}}},
    )


def product_stock_confirm(*, product_ids: Iterable[ObjectId], key: str) -> None:
    """Drop the ledger entries for ``key``: the movement is final (the order is stored)."""
    _products().update_many({"_id": {"$in": list(product_ids)}}, {"$pull": {STOCK_LEDGER: {"key": key}}})
