"""What the first visitors' pages need, loaded while an app process starts (config/lifespan.py).

The first request to a cold process used to pay for everything at once: the catalog answers
missing from Redis (the home page's new arrivals over 5,000 products took a second on the
embedded MongoDB), the templates compiled, the translation catalogs read. Loading them before
the process reports ready moves that cost into start-up: the category tree, the new arrivals,
the first page and the filters of every top-level category (the home page's links), the
catalog's templates and every language's messages. Answers already cached cost one Redis round
trip each, so a restart within ``CACHE_TTL_SECONDS`` warms in milliseconds.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.template.loader import get_template
from django.utils import translation

from shop import selectors
from shop.selectors import ProductQuery

TEMPLATES = ("home.html", "shop/listing.html", "shop/_listing_body.html", "shop/product_detail.html", "404.html")


def catalog_warm_up() -> dict[str, float]:
    """Load the first pages' data, templates and messages; seconds spent on each part."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    tree = selectors.category_tree()
    selectors.new_arrivals()
    timings["home"] = time.monotonic() - started
    started = time.monotonic()
    for root in tree:
        selectors.product_list(ProductQuery(category=root["slug"]))
        selectors.category_facets(root["slug"])
    timings["categories"] = time.monotonic() - started
    started = time.monotonic()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for name in TEMPLATES:
                get_template(name)
    timings["templates"] = time.monotonic() - started
    return timings
