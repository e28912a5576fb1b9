"""Server-rendered catalog pages: thin views over shop.queries (input) and shop.selectors (cached reads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from common.api.queries import InvalidQuery
from shop import cache, selectors
from shop.page_cache import anonymous_page_cache
from shop.queries import ATTRIBUTE_PREFIX, parse_product_query
from shop.selectors import CATEGORIES, DEFAULT_SORT, PRODUCTS, ProductQuery

PAGE_WINDOW_RADIUS = 2
# Errors shown next to a form field; any other parameter's error goes to the summary above the form.
FIELD_ERRORS = ("q", "min_price", "max_price", "in_stock", "sort")

SORT_LABELS = {
    "newest": _("Newest first"),
    "price": _("Price: low to high"),
    "-price": _("Price: high to low"),
    "name": _("Name: A to Z"),
}
TITLE_SEARCH = _("Search")
TITLE_SEARCH_FOR = _("Search: %(q)s")
TITLE_QUERY_CHARS = 60
# Http404 messages (the shopper sees the friendly 404.html, these reach logs and DEBUG pages).
NOT_FOUND_CATEGORY = "No category has this slug."
NOT_FOUND_PRODUCT = "No product on sale has this slug."
# Home, listings and search show products and categories; each write to either drops their cached pages.
# (A product page is not cached whole: its add-to-cart form carries the visitor's CSRF token.)
catalog_page_cache = anonymous_page_cache(depends_on=(PRODUCTS, CATEGORIES))


def _absolute(request: HttpRequest, path: str, params: dict[str, Any] | None = None) -> str:
    """The absolute URL of ``path`` with only ``params`` (no tracking or junk parameters)."""
    query = f"?{urlencode(params)}" if params else ""
    return request.build_absolute_uri(path + query)


def _query_params(query: ProductQuery) -> dict[str, str]:
    """The normalised query string of a listing, page excluded, so links carry filters and nothing else."""
    params: dict[str, str] = {}
    if query.search:
        params["q"] = query.search
    if query.min_price is not None:
        params["min_price"] = str(query.min_price)
    if query.max_price is not None:
        params["max_price"] = str(query.max_price)
    if query.in_stock:
        params["in_stock"] = "1"
    for name, value in sorted(query.attributes.items()):
        params[f"{ATTRIBUTE_PREFIX}{name}"] = value
    if query.sort != DEFAULT_SORT:
        params["sort"] = query.sort
    return params


def _page_url(path: str, params: dict[str, str], page: int) -> str:
    """A listing URL for ``page`` keeping the filters in ``params``."""
    full = {**params, "page": str(page)} if page > 1 else params
    return f"{path}?{urlencode(full)}" if full else path


def page_window(page: int, pages: int, radius: int = PAGE_WINDOW_RADIUS) -> list[int | None]:
    """Page numbers to link around ``page``: the first, the last and ``radius`` either side; None is a gap."""
    shown = sorted({1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)})
    window: list[int | None] = []
    for number in shown:
        if window and number - (window[-1] or 0) > 1:
            window.append(None)
        window.append(number)
    return window


def _pagination(path: str, params: dict[str, str], page: int, pages: int) -> dict[str, Any] | None:
    """Prev/next and numbered links, or None when everything fits on one page."""
    if pages <= 1 and page <= 1:
        return None
    links = [
        {"number": number, "url": _page_url(path, params, number) if number else "", "current": number == page}
        for number in page_window(min(page, pages), pages)
    ]
    return {
        "links": links,
        "previous_url": _page_url(path, params, min(page - 1, pages)) if page > 1 else "",
        "next_url": _page_url(path, params, page + 1) if page < pages else "",
    }


def _facet_fields(facets: dict[str, list[str]], params: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """One select per attribute: its parameter name, values, current choice and error."""
    fields = []
    for name, values in facets.items():
        key = f"{ATTRIBUTE_PREFIX}{name}"
        fields.append(
            {"name": name, "param": key, "values": values, "current": params.get(key, ""), "error": errors.get(key, "")}
        )
    return fields


PageContext = Callable[[ProductQuery | None], dict[str, Any] | None]


def _listing(
    request: HttpRequest, *, path: str, page_context: PageContext, require_search: bool = False
) -> HttpResponse:
    """Parse the filters, read one page and render the listing (400 with messages when the filters are bad).

    ``page_context(query)`` gives the page's category, ancestors, title and facets, or None
    when the category does not exist (404). It only runs when the cached body is missing.
    """
    context: dict[str, Any] = {
        "form": request.GET,
        "form_action": path,
        "sorts": SORT_LABELS,
        "errors": {},
        "other_errors": [],
        "listing": None,
        "pagination": None,
        "page_number": 1,
        "canonical_url": _absolute(request, path),
        "clear_url": path,
        "current_sort": request.GET.get("sort", DEFAULT_SORT),
        "in_stock_checked": request.GET.get("in_stock", "") not in ("", "0"),
    }
    try:
        query = parse_product_query(request.GET, category=path_category(page_context))
    except InvalidQuery as invalid:
        page = page_context(None)
        if page is None:
            raise Http404(NOT_FOUND_CATEGORY) from None
        facet_values = page.pop("facets")()
        facet_params = {f"{ATTRIBUTE_PREFIX}{name}" for name in facet_values}
        context.update(
            page,
            errors=invalid.errors,
            other_errors=[
                message
                for key, message in invalid.errors.items()
                if key not in FIELD_ERRORS and key not in facet_params
            ],
            facet_fields=_facet_fields(facet_values, request.GET, invalid.errors),
        )
        return render(request, "shop/listing.html", context, status=400)

    params = _query_params(query)
    context.update(
        # The normalised query, not the raw input: one cached body serves every spelling of it.
        form={**params, "q": query.search},
        current_sort=query.sort,
        in_stock_checked=query.in_stock,
        clear_url=_page_url(path, {"q": query.search} if require_search and query.search else {}, 1),
        page_number=query.page,
    )
    if require_search and not query.search:
        page = page_context(query) or {}
        page.pop("facets", None)
        context.update(page, facet_fields=[])
        return render(request, "shop/listing.html", context)

    canonical_params = {"q": query.search} if query.search and not query.category else {}
    if query.page > 1:
        canonical_params["page"] = str(query.page)
    context["canonical_url"] = _absolute(request, path, canonical_params)

    def render_page() -> dict[str, Any] | None:
        page = page_context(query)
        listing = selectors.product_list(query) if page is not None else None
        if page is None or listing is None:
            return None
        facets = page.pop("facets")()
        body_context = {
            **context,
            **page,
            "listing": listing,
            "facet_fields": _facet_fields(facets, params, {}),
            "first_page_url": _page_url(path, params, 1),
            "pagination": _pagination(path, params, query.page, listing["pages"]),
        }
        category = page.get("category")
        return {
            "body": render_to_string("shop/_listing_body.html", body_context),
            "title": str(page["title"]),
            "category": {"description": category["description"]} if category else None,
        }

    # Rendering 24 cards costs more than everything else on the page: cache the rendered
    # body next to the data it shows, under the same namespaces, so the same writes expire it.
    # A hit needs no other read: not even the category tree.
    rendered = cache.cached(
        selectors.PRODUCTS,
        depends_on=(selectors.CATEGORIES,),
        key={"listing_page": query.cache_key(), "path": path, "language": get_language()},
        build=render_page,
    )
    if rendered is None:
        raise Http404(NOT_FOUND_CATEGORY)
    context.update(
        title=rendered["title"],
        category=rendered["category"],
        cached_body=mark_safe(rendered["body"]),  # noqa: S308 - our own template's output, escaped when rendered
    )
    return render(request, "shop/listing.html", context)


def path_category(page_context: PageContext) -> str:
    """The category slug a listing is bound to ("" for search)."""
    return getattr(page_context, "category_slug", "")


def _category_path(tree: list[dict[str, Any]], slug: str) -> list[dict[str, Any]]:
    """The nodes from a root down to the category ``slug`` (empty when it is not in the tree)."""
    for node in tree:
        if node["slug"] == slug:
            return [node]
        below = _category_path(node["children"], slug)
        if below:
            return [node, *below]
    return []


@require_safe
@catalog_page_cache
def home(request: HttpRequest) -> HttpResponse:
    """The shop front: category navigation, new arrivals and a search box."""
    context = {
        "tree": selectors.category_tree(),
        "new_arrivals": selectors.new_arrivals(),
        "canonical_url": _absolute(request, reverse("shop:home")),
    }
    return render(request, "home.html", context)


class _CategoryPage:
    """The page context of one category's listing (see _listing)."""

    def __init__(self, slug: str) -> None:
        self.category_slug = slug

    def __call__(self, query: ProductQuery | None) -> dict[str, Any] | None:
        trail = _category_path(selectors.category_tree(), self.category_slug)
        if not trail:
            return None
        return {
            "category": trail[-1],
            "ancestors": trail[:-1],
            "title": trail[-1]["name"],
            "facets": lambda: selectors.category_facets(self.category_slug),
        }


class _SearchPage:
    """The page context of search results (see _listing)."""

    category_slug = ""

    def __init__(self, raw_query: str) -> None:
        self.raw_query = raw_query

    def __call__(self, query: ProductQuery | None) -> dict[str, Any]:
        searched = Truncator(query.search if query else self.raw_query.strip()).chars(TITLE_QUERY_CHARS)
        return {
            "category": None,
            "ancestors": [],
            "title": TITLE_SEARCH_FOR % {"q": searched} if searched else TITLE_SEARCH,
            "facets": dict,
        }


@require_safe
@catalog_page_cache
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A category's products with filters, sort and pages."""
    return _listing(request, path=reverse("shop:category", kwargs={"slug": slug}), page_context=_CategoryPage(slug))


@require_safe
@catalog_page_cache
def search(request: HttpRequest) -> HttpResponse:
    """Products across every category whose name or description contains ``q``."""
    page = _SearchPage(request.GET.get("q") or "")
    return _listing(request, path=reverse("shop:search"), page_context=page, require_search=True)


@require_safe
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One product: images, price, stock, attributes and description."""
    product = selectors.product_detail_by_slug(slug)
    if product is None:
        raise Http404(NOT_FOUND_PRODUCT)
    context = {
        "product": product,
        # A list, not the dict: an attribute named "items" would shadow dict.items in a template.
        "attributes": sorted(product["attributes"].items()),
        "canonical_url": _absolute(request, reverse("shop:product", kwargs={"slug": product["slug"]})),
    }
    return render(request, "shop/product_detail.html", context)
