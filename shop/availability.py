"""What catalog lists show of a product's stock: a badge, never the exact count.

Cached lists (listing and search pages, the home page's new arrivals, ``/api/products/`` cards)
show "in stock", "only N left" (N up to ``LOW_STOCK_THRESHOLD``) or "sold out", and the in-stock
filter keeps products with stock above 0. A stock movement therefore changes a cached list only
when its old or new count is at most ``LOW_STOCK_THRESHOLD``: above it, both counts show the
same badge and pass the same filter. Product pages and the detail API keep the exact count
(docs/decisions/0005-stock-in-cached-lists.md).
"""

from __future__ import annotations

LOW_STOCK_THRESHOLD = 3


def stock_left(stock: int) -> int | None:
    """The count a list shows: the units left when there are at most ``LOW_STOCK_THRESHOLD``, else None."""
    return max(0, stock) if stock <= LOW_STOCK_THRESHOLD else None


def stock_change_shows_in_lists(*, old: int, new: int) -> bool:
    """Does a change of stock from ``old`` to ``new`` change anything a cached list shows?"""
    return old != new and min(old, new) <= LOW_STOCK_THRESHOLD
