"""Whole catalog pages cached for anonymous visitors (shop/page_cache.py): served without rendering,
dropped by the writes that change what they show, never served to a visitor they were not made for."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from shop import cache, page_cache, services
from shop.selectors import CATEGORIES, PAGES, PRODUCTS
from shop.tests.helpers import admin_inline_edit
from tests.concurrency import all_at_once

User = get_user_model()

pytestmark = pytest.mark.django_db

CATALOG_PAGES = ("/", "/c/t-shirts/", "/c/clothing/?sort=price", "/search/?q=linen")


def counters() -> dict[str, dict[str, int | float]]:
    return cache.stats([PAGES, PRODUCTS, CATEGORIES])


def test_second_anonymous_request_is_the_stored_page_without_rendering(client: Client, catalog) -> None:
    for url in CATALOG_PAGES:
        first = client.get(url)
        before = counters()
        second = client.get(url)
        after = counters()
        assert second.status_code == 200, url
        assert second.content == first.content, url
        assert second.templates == [], f"{url} was rendered again"
        assert after[PAGES]["hit"] == before[PAGES]["hit"] + 1, url
        assert after[PAGES]["miss"] == before[PAGES]["miss"], url
        # One lookup, nothing else: the page's data was not read at all.
        assert after[PRODUCTS]["lookup"] == before[PRODUCTS]["lookup"], url
        assert after[CATEGORIES]["lookup"] == before[CATEGORIES]["lookup"], url
        assert second["Content-Type"] == "text/html; charset=utf-8"
        assert {"Cookie", "Accept-Language"} <= {part.strip() for part in second["Vary"].split(",")}, url


def test_anonymous_pages_carry_no_csrf_token_and_set_no_cookie(client: Client, catalog) -> None:
    for url in CATALOG_PAGES:
        for _ in range(2):  # a miss, then a hit
            response = client.get(url)
            assert b"csrfmiddlewaretoken" not in response.content, url
            assert not response.cookies, url


def test_admin_edit_drops_the_cached_page_at_once(client: Client, admin_client: Client, catalog) -> None:
    assert "€19.90" in client.get("/c/t-shirts/").text
    assert client.get("/c/t-shirts/").templates == []  # now served from the page cache
    response = admin_inline_edit(admin_client, catalog.linen, price="24.00", stock="5")
    assert response.status_code == 302
    html = client.get("/c/t-shirts/").text
    assert "€24.00" in html
    assert "€19.90" not in html


def test_category_edit_drops_cached_listings_and_home(client: Client, admin_client: Client, catalog) -> None:
    for url in ("/", "/c/t-shirts/"):
        client.get(url)
        assert "T-shirts" in client.get(url).text
    response = admin_client.post(
        f"/admin/shop/category/{catalog.shirts.pk}/change/",
        {"name": "Tees", "slug": "t-shirts", "parent": str(catalog.clothing.pk), "description": "", "position": "2"},
    )
    assert response.status_code == 302
    assert "<h1>Tees</h1>" in client.get("/c/t-shirts/").text
    assert ">Tees</a>" in client.get("/").text


def test_a_code_write_and_the_pages_namespace_each_drop_cached_pages(client: Client, catalog) -> None:
    client.get("/c/books/")
    services.product_create(category=catalog.books, name="Quiet atlas", sku="BK-2", price=Decimal("30.00"), stock=3)
    assert "Quiet atlas" in client.get("/c/books/").text
    before = counters()[PAGES]
    cache.invalidate(PAGES)  # what a deploy that changes templates would do
    client.get("/c/books/")
    assert counters()[PAGES]["miss"] == before["miss"] + 1


def test_a_signed_in_visitor_gets_the_shared_page_with_their_own_navigation_and_stores_nothing(
    client: Client, catalog
) -> None:
    client.get("/c/t-shirts/")
    assert client.get("/c/t-shirts/").templates == []  # the anonymous page is cached
    shopper = Client()
    shopper.force_login(User.objects.create_user("ana@example.com", "plum-harbour-42", full_name="Ana Pérez"))
    for _ in range(2):
        response = shopper.get("/c/t-shirts/")
        # Only the navigation: its links are rendered on the first visit and kept for the second (orders/site_nav.py).
        assert {template.name for template in response.templates} <= {"_site_nav.html", "_site_nav_links.html"}
        assert "_site_nav.html" in {template.name for template in response.templates}
        assert "Account (Ana)" in response.text
        assert "Log out" in response.text
        assert "Log in" not in response.text
    html = client.get("/c/t-shirts/").text
    assert "Log in" in html
    assert "Log out" not in html
    assert "Ana" not in html


def forget_expired_cookies(client: Client) -> None:
    """Drop the cookies a response deleted (the test client keeps them with an empty value; browsers do not)."""
    for name in [name for name, morsel in client.cookies.items() if morsel["max-age"] == 0]:
        del client.cookies[name]


def without_csrf_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_the_shared_page_with_own_navigation_is_the_page_rendered_for_the_visitor(client: Client, catalog, url) -> None:
    shopper = Client()
    shopper.force_login(
        User.objects.create_user("ana@example.com", "plum-harbour-42", full_name="Ana Pérez", is_staff=True)
    )
    shopper.post("/orders/cart/add/", {"product_id": str(catalog.linen.pk), "quantity": "2"})
    shopper.get("/orders/cart/")  # shows the "added" message
    forget_expired_cookies(shopper)
    whole = shopper.get(url)  # not cached yet: rendered for the visitor alone, and not stored
    assert "page_cache" not in str(whole.templates)
    assert client.get(url).status_code == 200  # an anonymous visitor stores the shared page
    spliced = shopper.get(url)
    assert [template.name for template in spliced.templates] == ["_site_nav.html"]
    assert without_csrf_tokens(spliced.text) == without_csrf_tokens(whole.text)
    assert "Cart (2)" in spliced.text
    assert 'href="/admin/"' in spliced.text


def test_a_visitor_with_a_message_waiting_gets_the_page_rendered_whole(client: Client, catalog) -> None:
    client.get("/c/t-shirts/")
    shopper = Client()
    shopper.post("/orders/cart/add/", {"product_id": str(catalog.linen.pk), "quantity": "1"})  # "… is in your cart."
    page = shopper.get("/c/t-shirts/").text
    assert "is in your cart" in page
    assert "is in your cart" not in shopper.get("/c/t-shirts/").text  # shown once


def test_an_anonymous_cart_is_shown_not_the_shared_page(client: Client, catalog) -> None:
    client.get("/c/t-shirts/")
    assert "Cart (0)" in client.get("/c/t-shirts/").text
    shopper = Client()
    shopper.post("/orders/cart/add/", {"product_id": str(catalog.linen.pk), "quantity": "2"})
    assert "Cart (2)" in shopper.get("/c/t-shirts/").text
    assert "Cart (0)" in client.get("/c/t-shirts/").text


def test_spanish_and_english_visitors_each_get_their_own_page(catalog) -> None:
    by_cookie, by_header, english = Client(), Client(headers={"accept-language": "es"}), Client()
    by_cookie.post("/i18n/setlang/", {"language": "es", "next": "/"})
    for _ in range(2):
        for spanish in (by_cookie, by_header):
            response = spanish.get("/c/t-shirts/")
            assert '<html lang="es">' in response.text
            assert response["Content-Language"] == "es"
        response = english.get("/c/t-shirts/")
        assert '<html lang="en">' in response.text
        assert "Filter and sort" in response.text
        assert response["Content-Language"] == "en"
    assert english.get("/c/t-shirts/").templates == []  # English is cached too, separately


def test_unknown_cookies_and_other_hosts_are_not_served_the_shared_page(client: Client, catalog) -> None:
    client.get("/c/t-shirts/")
    client.cookies["someone_elses_state"] = "1"
    assert client.get("/c/t-shirts/").templates != []
    other_host = Client(HTTP_HOST="localhost")
    assert '<link rel="canonical" href="http://localhost/c/t-shirts/">' in other_host.get("/c/t-shirts/").text


def test_only_pages_that_owe_nothing_to_the_visitor_are_stored(rf: RequestFactory) -> None:
    request = rf.get("/c/t-shirts/")
    page = HttpResponse("<p>ok</p>")
    frozen = page_cache.frozen_page(request, page)
    assert frozen is not None
    thawed = page_cache.thawed_page(frozen)
    assert (thawed.content, thawed["Content-Type"]) == (b"<p>ok</p>", "text/html; charset=utf-8")

    not_found = HttpResponse("gone", status=404)
    assert page_cache.frozen_page(request, not_found) is None
    with_cookie = HttpResponse("<p>ok</p>")
    with_cookie.set_cookie("cart", "1")
    assert page_cache.frozen_page(request, with_cookie) is None
    with_header = HttpResponse("<p>ok</p>", headers={"X-Robots-Tag": "noindex"})
    assert page_cache.frozen_page(request, with_header) is None
    with_token = rf.get("/c/t-shirts/")
    get_token(with_token)  # the page rendered {% csrf_token %}: it belongs to this visitor
    assert page_cache.frozen_page(with_token, HttpResponse("<p>ok</p>")) is None


def test_error_pages_are_not_stored(client: Client, catalog: SimpleNamespace) -> None:
    for url in ("/c/no-such-category/", "/c/t-shirts/?page=abc"):
        for _ in range(2):
            response = client.get(url)
            assert response.status_code in (400, 404)
            assert response.templates != [], f"{url} was answered from the page cache"


def test_fifty_concurrent_anonymous_requests_render_a_missing_page_once(
    catalog: SimpleNamespace, patient_stampede: None
) -> None:
    bodies = all_at_once(50, lambda: Client().get("/c/clothing/?sort=price").content)
    assert len(bodies) == 50
    assert len(set(bodies)) == 1
    assert b"Wool jumper" in bodies[0]
    stats = counters()[PAGES]
    # A thread the scheduler starts after the page is stored counts a hit instead of a miss.
    assert (stats["lookup"], stats["rebuild"]) == (50, 1)
    assert stats["miss"] >= 2


def test_staff_see_the_page_counters(client: Client, admin_client: Client, catalog: SimpleNamespace) -> None:
    for _ in range(3):
        client.get("/c/t-shirts/")
    stats = admin_client.get("/staff/cache.json").json()["namespaces"]
    assert (stats[PAGES]["lookup"], stats[PAGES]["hit"], stats[PAGES]["miss"]) == (3, 2, 1)
    assert b"<td>pages</td>" in admin_client.get("/staff/cache/").content
