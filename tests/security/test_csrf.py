"""CSRF: a page on another site cannot make a signed-in shopper's browser change anything.

Every state-changing form needs Django's CSRF token; the API refuses cookie-authenticated writes
without it (DRF's SessionAuthentication); Bearer tokens are not sent by browsers on their own,
so API clients need none. The session cookie is SameSite=Lax on top.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.test import Client

from orders.models import Order, OrderStatus
from orders.tests.factories import place
from tests.security.helpers import ADDRESS, bearer


def test_every_state_changing_form_refuses_a_post_without_the_token(
    people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people.ana)
    product = {"product_id": str(goods.mug.pk), "quantity": "1"}
    for path, data in [
        ("/orders/cart/add/", product),
        ("/orders/cart/update/", product),
        ("/orders/cart/remove/", product),
        ("/orders/checkout/", ADDRESS),
        (f"/orders/{order.number}/pay/", {}),
        (f"/orders/{order.number}/cancel/", {}),
        ("/account/sessions/end-all/", {}),
        (
            "/account/password/change/",
            {"old_password": "x", "new_password1": "n3w-pass!", "new_password2": "n3w-pass!"},
        ),
        ("/account/logout/", {}),
        ("/i18n/setlang/", {"language": "es"}),
    ]:
        response = browser.post(path, data, HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 403, path
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert "_auth_user_id" in browser.session  # still signed in: logout was refused too


def test_the_api_refuses_cookie_authenticated_writes_without_the_token(
    people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people.ana)
    body = {"lines": [{"product_id": str(goods.mug.pk), "quantity": 1}], "address": ADDRESS}
    assert browser.get("/api/orders/").status_code == 200  # reads work with the cookie
    refused = browser.post("/api/orders/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Order.objects.exists()
    # An API client's Bearer token is never sent by a browser on its own: no CSRF token needed.
    client = Client(enforce_csrf_checks=True, headers=bearer(people.ana))
    assert client.post("/api/orders/", body, content_type="application/json").status_code == 201


def test_the_session_cookie_is_samesite_lax_and_httponly(people: SimpleNamespace) -> None:
    people.ana.set_password("ana-password-1")
    people.ana.save()
    client = Client()
    client.post("/account/login/", {"username": "ana@example.com", "password": "ana-password-1"})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


def test_the_logout_needs_no_token_from_this_site_and_refuses_other_sites(people: SimpleNamespace) -> None:
    """The logout form carries no token, so one rendering of the navigation serves every shopper in the same
    state (docs/decisions/0015-logout-without-a-csrf-token.md); the origin the browser declares guards it."""
    for headers in ({"HTTP_SEC_FETCH_SITE": "cross-site"}, {"HTTP_SEC_FETCH_SITE": "same-site"},
                    {"HTTP_ORIGIN": "https://evil.example"}):  # fmt: skip
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(people.ana)
        refused = browser.post("/account/logout/", **headers)
        assert refused.status_code == 403, headers
        assert "_auth_user_id" in browser.session, headers
    for headers in ({"HTTP_SEC_FETCH_SITE": "same-origin"}, {"HTTP_ORIGIN": "http://testserver"}, {}):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(people.ana)
        assert browser.post("/account/logout/", **headers).status_code == 302, headers
        assert "_auth_user_id" not in browser.session, headers
