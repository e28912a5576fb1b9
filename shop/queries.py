"""Parse a product listing query from user input (page and API share it).

Bad input never reaches MongoDB: unknown parameters are ignored, malformed ones
produce messages a person can act on (module constants, so tests assert them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from common.api.queries import InvalidQuery, PageQuery, parse_page_query, query_value
from common.yes_no import yes_no
from shop.selectors import ATTRIBUTE_NAME, DEFAULT_SORT, MAX_ATTRIBUTE_FILTERS, MAX_SEARCH_LENGTH, SORTS, ProductQuery

MAX_PRICE = Decimal("1000000")
ATTRIBUTE_PREFIX = "attr_"
MAX_ATTRIBUTE_VALUE_LENGTH = 60

ERROR_PRICE = _("Prices must be numbers from 0 to 1000000, like 19.99.")
ERROR_PRICE_RANGE = _("The minimum price cannot be above the maximum price.")
ERROR_SORT = _("Sort by one of: newest, price, -price, name.")
ERROR_SEARCH_LENGTH = _("Search text can be at most 200 characters.")
ERROR_ATTRIBUTE = _("Attribute filters look like attr_colour=red (lower-case names, values up to 60 characters).")
ERROR_TOO_MANY_ATTRIBUTES = _("Use at most 5 attribute filters at once.")
ERROR_IN_STOCK = _("in_stock must be 1 or 0.")
ERROR_CATEGORY = _("Category must be a category slug, like t-shirts.")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,140}$")


def _price(raw: str | None) -> tuple[bool, Decimal | None]:
    if raw is None or raw.strip() == "":
        return True, None
    text = raw.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # "19,99" is how Spanish shoppers write prices
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False, None
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        return False, None
    return True, value.quantize(Decimal("0.01"))


def parse_product_query(
    params: Mapping[str, object], *, category: str | None = None, allow_page_size: bool = False
) -> ProductQuery:
    """Build a ProductQuery from query-string ``params``, or raise InvalidQuery."""
    errors: dict[str, str] = {}
    if category is None:
        category = (query_value(params, "category") or "").strip() or None
        if category is not None and not _SLUG.match(category):
            errors["category"] = str(ERROR_CATEGORY)

    try:
        paging = parse_page_query(params, allow_page_size=allow_page_size)
    except InvalidQuery as invalid:
        errors.update(invalid.errors)
        paging = PageQuery()

    ok_min, min_price = _price(query_value(params, "min_price"))
    ok_max, max_price = _price(query_value(params, "max_price"))
    if not ok_min:
        errors["min_price"] = str(ERROR_PRICE)
    if not ok_max:
        errors["max_price"] = str(ERROR_PRICE)
    if min_price is not None and max_price is not None and min_price > max_price:
        errors["min_price"] = str(ERROR_PRICE_RANGE)

    sort = (query_value(params, "sort") or DEFAULT_SORT).strip() or DEFAULT_SORT
    if sort not in SORTS:
        errors["sort"] = str(ERROR_SORT)

    search = _CONTROL.sub(" ", query_value(params, "q") or "").strip()
    if len(search) > MAX_SEARCH_LENGTH:
        errors["q"] = str(ERROR_SEARCH_LENGTH)

    in_stock = yes_no(query_value(params, "in_stock") or "")
    if in_stock is None:
        errors["in_stock"] = str(ERROR_IN_STOCK)

    attributes: dict[str, str] = {}
    keys = params.keys() if hasattr(params, "keys") else []
    for key in keys:
        if not key.startswith(ATTRIBUTE_PREFIX):
            continue
        name = key[len(ATTRIBUTE_PREFIX) :]
        value = (query_value(params, key) or "").strip()
        if not value:
            continue  # an empty select in the filter form means "any"
        if not ATTRIBUTE_NAME.match(name) or len(value) > MAX_ATTRIBUTE_VALUE_LENGTH or _CONTROL.search(value):
            errors[key] = str(ERROR_ATTRIBUTE)
            continue
        attributes[name] = value
    if len(attributes) > MAX_ATTRIBUTE_FILTERS:
        errors["attributes"] = str(ERROR_TOO_MANY_ATTRIBUTES)

    if errors:
        raise InvalidQuery(errors)
    return ProductQuery(
        category=category,
        search=search,
        min_price=min_price,
        max_price=max_price,
        in_stock=bool(in_stock),
        attributes=attributes,
        sort=sort,
        page=paging.page,
        page_size=paging.page_size,
    )
