"""The site navigation: read from its state on every request, rendered once per state (orders/site_nav.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.test import Client

from accounts.models import User
from orders import site_nav

pytestmark = pytest.mark.django_db
PASSWORD = "quiet-harbour-77"
NAV = re.compile(r"<!--site-nav-->(.*?)<!--/site-nav-->", re.S)


def signed_in(email: str, full_name: str) -> Client:
    User.objects.create_user(email, PASSWORD, full_name=full_name)
    client = Client()
    assert client.post("/account/login/", {"username": email, "password": PASSWORD}).status_code == 302
    return client


def navigation(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return NAV.search(response.text).group(1)


def test_visitors_in_the_same_state_share_one_rendering(catalog: SimpleNamespace) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    first, second = signed_in("ana@example.com", "Ana Pérez"), signed_in("ana@example.org", "Ana Gil")
    site_nav._rendered.cache_clear()
    pages = [navigation(first, path), navigation(second, path), navigation(first, path)]
    assert site_nav._rendered.cache_info().misses == 1  # one state ("Ana", empty cart, no order): one rendering
    assert pages[0] == pages[1] == pages[2]
    assert "Account (Ana)" in pages[0]
    assert "csrfmiddlewaretoken" not in pages[0]  # the logout checks the origin instead (accounts/views.py)


def test_the_logout_form_of_the_shared_links_logs_out(catalog: SimpleNamespace) -> None:
    client = signed_in("ana@example.com", "Ana Pérez")
    client.handler.enforce_csrf_checks = True
    links = navigation(client, f"/c/{catalog.clothing.slug}/")
    action = re.search(r'<form class="nav-logout" action="([^"]+)" method="post">', links).group(1)
    assert client.post(action, HTTP_SEC_FETCH_SITE="same-origin").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_change_of_state_shows_at_once(catalog: SimpleNamespace) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    client = signed_in("ana@example.com", "Ana Pérez")
    assert "Cart (0)" in navigation(client, path)
    assert client.post("/orders/cart/add/", {"product_id": str(catalog.novel.pk), "quantity": "3"}).status_code == 302
    assert "Cart (3)" in navigation(client, path)
    User.objects.filter(email="ana@example.com").update(full_name="Anabel Pérez")
    assert "Account (Anabel)" in navigation(client, path)


def test_each_language_has_its_own_rendering(catalog: SimpleNamespace) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    client = signed_in("ana@example.com", "Ana Pérez")
    assert "Log out" in navigation(client, path)
    client.cookies["django_language"] = "es"
    spanish = navigation(client, path)
    assert "Log out" not in spanish
    assert "Cerrar sesión" in spanish


def test_a_visitor_who_is_not_signed_in_comes_back_to_the_page_after_logging_in(catalog: SimpleNamespace) -> None:
    client = Client()
    assert client.post("/orders/cart/add/", {"product_id": str(catalog.novel.pk), "quantity": "1"}).status_code == 302
    page = navigation(client, f"/c/{catalog.clothing.slug}/?sort=price")
    assert f'href="/account/login/?next=/c/{catalog.clothing.slug}/%3Fsort%3Dprice"' in page
    assert "Cart (1)" in page
    assert "?next=" not in navigation(client, "/account/login/")


def test_with_debug_on_an_edited_template_shows_at_once(settings, catalog: SimpleNamespace) -> None:
    settings.DEBUG = True
    site_nav._rendered.cache_clear()
    client = signed_in("ana@example.com", "Ana Pérez")
    navigation(client, f"/c/{catalog.clothing.slug}/")
    assert site_nav._rendered.cache_info().currsize == 0
