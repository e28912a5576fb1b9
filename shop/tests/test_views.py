"""The catalog pages: home, category listing, search, product detail, errors and Spanish."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from common.api import queries as common_queries
from shop import demo, queries
from shop.models import Product
from shop.services import category_create, product_create
from shop.views import page_window

pytestmark = pytest.mark.django_db

ALL_NAMES = ("Linen tee", "Cotton polo", "Basic tee", "Wool jacket", "Pocket speaker")


@pytest.fixture
def shop_pages() -> dict[str, Product]:
    """Clothing > T-shirts and Electronics, five products created oldest to newest."""
    clothing = category_create(name="Clothing", slug="clothing", description="Everyday clothes.")
    tshirts = category_create(name="T-shirts", slug="t-shirts", parent=clothing)
    electronics = category_create(name="Electronics", slug="electronics", position=1)
    image = ["/static/img/products/t-shirts.svg"]
    return {
        "linen": product_create(
            category=tshirts, name="Linen tee", sku="T-1", price=Decimal("20.00"), stock=10, images=image,
            attributes={"colour": "red", "size": "M"}, tags=["summer"], description="A breathable summer shirt.",
        ),
        "polo": product_create(
            category=tshirts, name="Cotton polo", sku="T-2", price=Decimal("35.00"), stock=2,
            attributes={"colour": "blue", "size": "L"},
        ),
        "basic": product_create(
            category=tshirts, name="Basic tee", sku="T-3", price=Decimal("9.99"), stock=0,
            attributes={"colour": "red", "size": "S"},
        ),
        "jacket": product_create(
            category=clothing, name="Wool jacket", sku="C-1", price=Decimal("120.00"), stock=5,
            description="Warm, with a linen lining.",
        ),
        "speaker": product_create(
            category=electronics, name="Pocket speaker", sku="E-1", price=Decimal("1234.50"), stock=1
        ),
    }  # fmt: skip


def names_shown(html: str) -> list[str]:
    """The catalog product names in ``html``, in page order."""
    found = [(html.index(name), name) for name in ALL_NAMES if name in html]
    return [name for _, name in sorted(found)]


def test_home_shows_category_tree_new_arrivals_and_search(client: Client, shop_pages: dict[str, Product]) -> None:
    html = client.get("/").content.decode()
    assert '<a class="category-name" href="/c/clothing/">Clothing</a>' in html
    assert '<a href="/c/t-shirts/">T-shirts</a>' in html
    assert names_shown(html) == ["Pocket speaker", "Wool jacket", "Basic tee", "Cotton polo", "Linen tee"]
    assert 'action="/search/"' in html
    assert "<title>Tienda · Online shop</title>" in html
    assert '<link rel="canonical" href="http://testserver/">' in html


def test_category_lists_its_and_its_subcategories_products(client: Client, shop_pages: dict[str, Product]) -> None:
    response = client.get("/c/clothing/", {"utm_source": "newsletter"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "shop/listing.html" in [template.name for template in response.templates]
    assert names_shown(html) == ["Wool jacket", "Basic tee", "Cotton polo", "Linen tee"]
    assert "4 products" in html
    assert '<a class="chip" href="/c/t-shirts/">T-shirts</a>' in html
    assert "<title>Clothing · Tienda</title>" in html
    assert '<link rel="canonical" href="http://testserver/c/clothing/">' in html
    assert '<meta name="description" content="Everyday clothes.">' in html

    html = client.get("/c/t-shirts/").content.decode()
    assert '<li><a href="/c/clothing/">Clothing</a></li>' in html  # breadcrumbs
    assert '<option value="blue">blue</option>' in html  # one select per attribute
    assert '<select id="id_attr_size" name="attr_size">' in html


def test_category_filters_and_sorts(client: Client, shop_pages: dict[str, Product]) -> None:
    def names(**params: str) -> list[str]:
        return names_shown(client.get("/c/t-shirts/", params).content.decode())

    assert names() == ["Basic tee", "Cotton polo", "Linen tee"]  # newest first
    assert names(sort="price") == ["Basic tee", "Linen tee", "Cotton polo"]
    assert names(sort="-price") == ["Cotton polo", "Linen tee", "Basic tee"]
    assert names(sort="name") == ["Basic tee", "Cotton polo", "Linen tee"]
    assert names(min_price="10", max_price="30") == ["Linen tee"]
    assert names(in_stock="1", sort="name") == ["Cotton polo", "Linen tee"]
    assert names(attr_colour="red", sort="name") == ["Basic tee", "Linen tee"]
    assert names(attr_colour="red", in_stock="1", max_price="15") == []

    html = client.get("/c/t-shirts/", {"attr_colour": "red", "sort": "price", "in_stock": "1"}).content.decode()
    assert '<option value="red" selected>red</option>' in html
    assert '<option value="price" selected>Price: low to high</option>' in html
    assert 'name="in_stock" type="checkbox" value="1" checked' in html
    html = client.get("/c/t-shirts/", {"min_price": "100"}).content.decode()
    assert "No products match these filters." in html


def test_pagination_keeps_filters_and_drops_tracking(
    client: Client, shop_pages: dict[str, Product], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("common.api.queries.PAGE_SIZE", 2)
    params = {"in_stock": "1", "sort": "name", "utm_source": "mail"}
    html = client.get("/c/clothing/", params).content.decode()
    assert names_shown(html) == ["Cotton polo", "Linen tee"]
    assert "3 products · page 1 of 2" in html
    assert '<a href="/c/clothing/?in_stock=1&amp;sort=name&amp;page=2" rel="next">Next</a>' in html
    assert '<a href="/c/clothing/?in_stock=1&amp;sort=name" aria-current="page">1</a>' in html
    assert "utm_source" not in html.split('class="pagination"')[1]

    html = client.get("/c/clothing/", {**params, "page": "2"}).content.decode()
    assert names_shown(html) == ["Wool jacket"]
    assert '<a href="/c/clothing/?in_stock=1&amp;sort=name" rel="prev">Previous</a>' in html
    assert '<link rel="canonical" href="http://testserver/c/clothing/?page=2">' in html
    assert "<title>Clothing · Page 2 · Tienda</title>" in html

    response = client.get("/c/clothing/", {**params, "page": "9"})
    html = response.content.decode()
    assert response.status_code == 200
    assert names_shown(html) == []
    assert "There are no products on page 9: the results end on page 2." in html
    assert '<a href="/c/clothing/?in_stock=1&amp;sort=name">Go to the first page</a>' in html


def test_page_window_links_first_last_and_neighbours() -> None:
    assert page_window(1, 1) == [1]
    assert page_window(2, 10) == [1, 2, 3, 4, None, 10]
    assert page_window(6, 12) == [1, None, 4, 5, 6, 7, 8, None, 12]
    assert page_window(12, 12) == [1, None, 10, 11, 12]


def test_search_matches_name_and_description_across_categories(client: Client, shop_pages: dict[str, Product]) -> None:
    html = client.get("/search/", {"q": "linen"}).content.decode()
    assert names_shown(html) == ["Wool jacket", "Linen tee"]
    assert "<title>Search: linen · Tienda</title>" in html
    assert '<link rel="canonical" href="http://testserver/search/?q=linen">' in html
    assert 'name="q" type="search" maxlength="200" value="linen"' in html

    assert names_shown(client.get("/search/", {"q": "SPEAKER"}).content.decode()) == ["Pocket speaker"]
    assert "No products match these filters." in client.get("/search/", {"q": "zebra"}).content.decode()

    response = client.get("/search/", {"q": "  "})
    html = response.content.decode()
    assert response.status_code == 200
    assert names_shown(html) == []
    assert "Type what you are looking for in the search box" in html
    assert "<title>Search · Tienda</title>" in html


def test_product_page_shows_details_and_stock_states(client: Client, shop_pages: dict[str, Product]) -> None:
    html = client.get("/p/linen-tee/").content.decode()
    assert "<title>Linen tee · Tienda</title>" in html
    assert '<meta name="description" content="A breathable summer shirt.">' in html
    assert '<link rel="canonical" href="http://testserver/p/linen-tee/">' in html
    assert '<a href="/c/clothing/">Clothing</a>' in html
    assert '<a href="/c/t-shirts/">T-shirts</a>' in html
    assert '<img class="product-image" src="/static/img/products/t-shirts.svg" alt="Linen tee"' in html
    assert '<p class="price price-large">€20.00</p>' in html
    assert '<th scope="row">Colour</th><td>red</td>' in html
    assert '<th scope="row">Size</th><td>M</td>' in html
    assert '<span class="chip">summer</span>' in html
    assert '<p class="stock stock-in">In stock</p>' in html

    assert '<p class="stock stock-low">Only 2 left</p>' in client.get("/p/cotton-polo/").content.decode()
    assert '<p class="stock stock-out">Out of stock</p>' in client.get("/p/basic-tee/").content.decode()
    html = client.get("/p/pocket-speaker/").content.decode()
    assert "€1,234.50" in html
    assert "Only 1 left" in html


def test_unknown_slugs_get_the_friendly_404(client: Client, shop_pages: dict[str, Product]) -> None:
    for url in ("/c/no-such-category/", "/p/no-such-product/", "/no/such/page/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "<h1>Page not found</h1>" in response.content.decode(), url
    assert client.post("/c/clothing/").status_code == 405
    response = client.get("/", HTTP_HOST="evil.example")  # DisallowedHost: Django's 400 handler
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


def test_malformed_filters_get_400_with_the_message_never_500(client: Client, shop_pages: dict[str, Product]) -> None:
    cases = [
        ("/c/t-shirts/", {"page": "-1"}, common_queries.ERROR_PAGE, None),
        ("/c/t-shirts/", {"page": "abc"}, common_queries.ERROR_PAGE, None),
        ("/c/t-shirts/", {"min_price": "abc"}, queries.ERROR_PRICE, "min_price-error"),
        ("/c/t-shirts/", {"max_price": "-5"}, queries.ERROR_PRICE, "max_price-error"),
        ("/c/t-shirts/", {"min_price": "50", "max_price": "10"}, queries.ERROR_PRICE_RANGE, "min_price-error"),
        ("/c/t-shirts/", {"sort": "bogus"}, queries.ERROR_SORT, "sort-error"),
        ("/c/t-shirts/", {"in_stock": "maybe"}, queries.ERROR_IN_STOCK, "in_stock-error"),
        ("/c/t-shirts/", {"attr_x[$gt]": "1"}, queries.ERROR_ATTRIBUTE, None),
        ("/c/t-shirts/", {"attr_colour": "r" * 61}, queries.ERROR_ATTRIBUTE, "attr_colour-error"),
        ("/search/", {"q": "x" * 10_000}, queries.ERROR_SEARCH_LENGTH, "q-error"),
    ]
    for url, params, message, field_error_id in cases:
        response = client.get(url, params)
        html = response.content.decode()
        assert response.status_code == 400, params
        assert escape(str(message)) in html, params
        assert names_shown(html) == [], params
        assert 'id="id_min_price"' in html, params  # the form is still there to fix
        if field_error_id:
            assert f'id="{field_error_id}"' in html, params
    assert f'maxlength="200" value="{"x" * 200}"' in html  # the search box keeps what fits, to edit


def test_set_language_switches_pages_to_spanish(client: Client, shop_pages: dict[str, Product]) -> None:
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="es">' in html
    assert "Bienvenido a Tienda" in html
    assert "Novedades" in html
    html = client.get("/p/cotton-polo/").content.decode()
    assert "35,00\xa0€" in html
    assert "Solo quedan 2" in html
    assert '<th scope="row">Color</th>' in html
    html = client.get("/c/t-shirts/", {"page": "abc"}).content.decode()
    with translation.override("es"):
        assert escape(str(common_queries.ERROR_PAGE)) in html
        assert str(common_queries.ERROR_PAGE) != "Page must be a whole number from 1 to 10000."


def test_html_in_a_product_name_is_escaped(client: Client, shop_pages: dict[str, Product]) -> None:
    product = product_create(
        category=shop_pages["linen"].category, name="<script>alert(1)</script>", sku="X-1", price=Decimal("1.00")
    )
    for url in ("/", "/c/t-shirts/", f"/p/{product.slug}/", "/search/?q=script"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_demo_category_images_are_small_valid_svg() -> None:
    folder = Path(settings.BASE_DIR) / "static" / "img" / "products"
    slugs = {spec.slug for spec in demo.CATEGORIES}
    assert {path.stem for path in folder.glob("*.svg")} >= slugs
    for slug in slugs:
        path = folder / f"{slug}.svg"
        assert path.stat().st_size < 2048, slug
        root = ElementTree.fromstring(path.read_text())  # noqa: S314 - our own files
        assert root.tag == "{http://www.w3.org/2000/svg}svg", slug
