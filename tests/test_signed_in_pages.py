"""A signed-in shopper's catalog pages make no MongoDB round trip once warm, and show the user as
MongoDB has them on the very next request after any change.

The session comes from Redis (accounts/session_store.py), the user from their card
(accounts/user_cache.py), the cart count from the session, the pending-orders badge from
orders/pending_badge.py. ``mongo_commands`` records every command the app sends to MongoDB
(common/mongo_commands.py): a page that starts reading MongoDB again fails here.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import User
from common.mongo_commands import mongo_commands
from common.tests.helpers import redis_round_trips
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import place

pytestmark = pytest.mark.django_db
PASSWORD = "quiet-harbour-77"


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("ana@example.com", PASSWORD, full_name="Ana Pérez")


@pytest.fixture
def site(shopper: User) -> Client:
    """The shopper signed in on the site the way a browser signs in (the login form)."""
    client = Client()
    response = client.post("/account/login/", {"username": shopper.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def catalog_pages(catalog: SimpleNamespace) -> list[str]:
    return [
        f"/c/{catalog.clothing.slug}/",
        f"/c/{catalog.clothing.slug}/?sort=price&in_stock=1",
        f"/p/{catalog.linen.slug}/",
        "/search/?q=tee",
    ]


def warm(client: Client, path: str) -> str:
    """Visit ``path`` twice (the first fills the caches); the page of the second visit."""
    client.get(path)
    response = client.get(path)
    assert response.status_code == 200, path
    return response.text


def test_warm_signed_in_catalog_pages_make_no_mongodb_round_trip(catalog: SimpleNamespace, site: Client) -> None:
    cart = site.post("/orders/cart/add/", {"product_id": str(catalog.novel.pk), "quantity": "2"})
    assert cart.status_code == 302
    for path in catalog_pages(catalog):
        warm(site, path)
        with mongo_commands() as sent:
            page = site.get(path).text
        assert sent == [], f"{path} read MongoDB: {sent}"
        assert "Account (Ana)" in page
        assert "Cart (2)" in page


def test_a_warm_signed_in_catalog_page_is_one_redis_round_trip(catalog: SimpleNamespace, site: Client) -> None:
    # The shared page's lookup and the session's copy with the user's card and pending-orders badge: two scripts in
    # one pipeline (common/redis_together.py).
    for path in ("/", f"/c/{catalog.clothing.slug}/", "/search/?q=tee"):
        Client().get(path)  # an anonymous visitor stores the shared page
        warm(site, path)
        with redis_round_trips() as sent:
            assert "Account (Ana)" in site.get(path).text
        assert len(sent) == 1, path


def test_the_product_list_api_with_a_token_makes_no_mongodb_round_trip(catalog: SimpleNamespace, shopper: User) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {account_services.token_pair_issue(user=shopper)['access']}")
    for path in ("/api/products/", f"/api/products/?category={catalog.clothing.slug}", "/api/auth/sessions/"):
        assert api.get(path).status_code == 200
        with mongo_commands() as sent, redis_round_trips() as round_trips:
            response = api.get(path)
        assert response.status_code == 200
        assert sent == [], f"{path} read MongoDB: {sent}"
        if path.startswith("/api/products/"):  # the token's blocklist entries with the user's card, then the list
            assert len(round_trips) == 2, path


def test_before_warming_the_page_reads_the_session_and_user_once(catalog: SimpleNamespace, site: Client) -> None:
    # The recorder itself works: a cold page reads the catalog, and the user's card is built once.
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()  # the session, the card and the catalog cache are gone
    path = f"/c/{catalog.clothing.slug}/"
    with mongo_commands() as cold:
        assert site.get(path).status_code == 200
    assert "aggregate django_session" in cold
    assert "aggregate accounts_user" in cold
    with mongo_commands() as warm_again:
        assert site.get(path).status_code == 200
    assert warm_again == []


def test_the_pending_orders_badge_follows_every_change(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    path = f"/c/{catalog.books.slug}/"
    assert "to pay" not in warm(site, path)

    first = place(shopper, (catalog.novel.pk, 1))
    assert "1 order to pay" in site.get(path).text  # placing forgot the cached count
    place(shopper, (catalog.novel.pk, 1))
    assert "2 orders to pay" in warm(site, path)
    with mongo_commands() as sent:
        page = site.get(path).text
    assert sent == []
    assert '<a href="/orders/" data-pending-orders>2 orders to pay</a>' in page

    order_services.order_pay(order=first, actor=shopper)
    assert "1 order to pay" in site.get(path).text
    order_services.order_expire(order=Order.objects.exclude(pk=first.pk).get())  # the expiry job's cancel
    assert "to pay" not in site.get(path).text


def test_the_badge_speaks_spanish(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    place(shopper, (catalog.novel.pk, 1))
    place(shopper, (catalog.novel.pk, 1))
    site.cookies["django_language"] = "es"
    page = site.get(f"/c/{catalog.books.slug}/").text
    assert "2 pedidos por pagar" in page
    assert "Cuenta (Ana)" in page


def test_admin_changes_show_on_the_next_request(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    path = f"/p/{catalog.linen.slug}/"
    assert "Account (Ana)" in warm(site, path)
    assert 'href="/admin/"' not in site.get(path).text

    shopper.full_name = "Anabel Pérez"
    shopper.save()
    assert "Account (Anabel)" in site.get(path).text

    shopper.is_staff = True
    shopper.save()
    page = site.get(path).text
    assert 'href="/admin/"' in page
    assert 'href="/staff/orders/"' in page


def test_a_ban_signs_the_shopper_out_on_the_next_request(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    assert "Account (Ana)" in warm(site, path)

    account_services.user_block(user=shopper)

    page = site.get(path).text
    assert "Account (Ana)" not in page
    assert 'href="/account/login/' in page


def test_a_ban_that_skipped_the_signals_still_signs_the_shopper_out(catalog: SimpleNamespace, site: Client) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    assert "Account (Ana)" in warm(site, path)

    User.objects.filter(email="ana@example.com").update(is_active=False)  # no save(), no signal

    assert "Account (Ana)" not in site.get(path).text


def test_a_deleted_user_is_signed_out_next_request(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    assert "Account (Ana)" in warm(site, path)

    shopper.delete()

    assert "Account (Ana)" not in site.get(path).text
    assert site.get("/account/").status_code == 302


def test_a_password_changed_elsewhere_ends_this_session(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    path = f"/c/{catalog.clothing.slug}/"
    assert "Account (Ana)" in warm(site, path)

    shopper.set_password("another-harbour-78")
    shopper.save()

    page = site.get(path).text
    assert "Account (Ana)" not in page
    assert site.get("/account/").status_code == 302  # signed out for good: the session was ended


def test_every_key_a_signed_in_journey_writes_has_a_ttl(catalog: SimpleNamespace, shopper: User, site: Client) -> None:
    from django_redis import get_redis_connection

    site.post("/orders/cart/add/", {"product_id": str(catalog.novel.pk), "quantity": "1"})
    order_services.order_pay(order=place(shopper, (catalog.novel.pk, 1)), actor=shopper)
    warm(site, f"/c/{catalog.books.slug}/")
    shopper.full_name = "Ana B."
    shopper.save()
    warm(site, f"/p/{catalog.novel.slug}/")
    redis = get_redis_connection("default")
    # Not RQ's keys: the order's e-mail job waits in its queue until a worker sends it, and queued
    # work does not go stale (docs/architecture.md, the key schema); finished jobs get RQ's TTLs.
    ttls = {key.decode(): redis.ttl(key) for key in redis.keys("*") if not key.startswith(b"rq:")}
    assert redis.keys("rq:job:order-mail-*")  # the journey did queue e-mails
    assert {key.split(":")[0] for key in ttls} >= {"sess", "acct", "orders"}
    assert all(ttl > 0 for ttl in ttls.values()), {key: ttl for key, ttl in ttls.items() if ttl <= 0}
