"""accounts/session_store.py: sessions stored in MongoDB, read from Redis, and never read back older
than MongoDB acknowledged them, whatever Redis did meanwhile (down, full, restarted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from accounts import session_store, site_sessions
from accounts.models import User
from accounts.session_store import SUPERSEDED_GRACE_SECONDS, SessionStore
from common.mongo_commands import mongo_commands
from common.tests.helpers import redis_down_caches

pytestmark = pytest.mark.django_db
PASSWORD = "salt-marsh-31"


@pytest.fixture(autouse=True)
def _nothing_pending() -> Iterator[None]:
    session_store._undeleted.clear()
    site_sessions._unindexed.clear()
    yield
    session_store._undeleted.clear()
    site_sessions._unindexed.clear()


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("cleo@example.com", PASSWORD, full_name="Cleo Pérez")


def redis_copy(key: str) -> dict | None:
    raw = get_redis_connection("default").get(f"sess:data:{key}")
    return None if raw is None else json.loads(raw)


def stored(key: str) -> dict:
    return SessionStore().decode(Session.objects.get(session_key=key).session_data)


def session_key(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def add_to_cart(client: Client, product_id: object, quantity: int = 1) -> None:
    response = client.post("/orders/cart/add/", {"product_id": str(product_id), "quantity": str(quantity)})
    assert response.status_code == 302, response.content[:500]


def cart(client: Client) -> dict[str, int]:
    """The cart as the next request reads it."""
    store = SessionStore(session_key(client))
    return store.get("cart", {}).get("lines", {})


@contextmanager
def redis_down(settings) -> Iterator[None]:
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        yield


@contextmanager
def redis_full() -> Iterator[None]:
    """Redis at its memory limit with the noeviction policy: it refuses writes, answers reads."""
    redis = get_redis_connection("default")
    redis.config_set("maxmemory-policy", "noeviction")
    redis.config_set("maxmemory", "1")
    try:
        yield
    finally:
        redis.config_set("maxmemory", "0")


def test_a_session_is_stored_in_mongodb_and_read_from_redis(goods, client: Client) -> None:
    add_to_cart(client, goods.mug.pk, 2)
    key = session_key(client)

    assert stored(key)["cart"]["units"] == 2
    assert redis_copy(key)["cart"]["units"] == 2
    assert get_redis_connection("default").ttl(f"sess:data:{key}") > django_settings.SESSION_COOKIE_AGE - 60
    with mongo_commands() as sent:
        assert cart(client) == {str(goods.mug.pk): 2}
    assert sent == []


def test_a_copy_missing_from_redis_is_read_from_mongodb_put_back_and_indexed(shopper: User) -> None:
    client = Client()
    assert client.login(username=shopper.email, password=PASSWORD)
    key = session_key(client)
    redis = get_redis_connection("default")
    redis.delete(f"sess:data:{key}", site_sessions.site_sessions_key(shopper.pk))

    assert client.get("/account/").status_code == 200  # signed in: read from MongoDB

    assert redis_copy(key)["_auth_user_id"] == str(shopper.pk)
    assert redis.smembers(site_sessions.site_sessions_key(shopper.pk)) == {key.encode()}


def test_sessions_from_before_the_upgrade_are_read_from_mongodb_and_indexed(shopper: User) -> None:
    # Before sessions were cached, they lived in MongoDB only (Django's db backend, same collection).
    from django.contrib.sessions.backends.db import SessionStore as DBStore

    old = DBStore()
    old.update({"_auth_user_id": str(shopper.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": shopper.get_session_auth_hash(), "cart": {"lines": {}, "units": 0}})  # fmt: skip
    old.create()
    old.save()
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = old.session_key

    assert client.get("/account/").status_code == 200

    assert redis_copy(old.session_key)["_auth_user_id"] == str(shopper.pk)
    assert old.session_key.encode() in get_redis_connection("default").smembers(
        site_sessions.site_sessions_key(shopper.pk)
    )


def test_signing_in_gives_a_new_key_and_ends_the_old_one(goods, shopper: User) -> None:
    client = Client()
    add_to_cart(client, goods.mug.pk)
    before = session_key(client)

    response = client.post("/account/login/", {"username": shopper.email, "password": PASSWORD})
    assert response.status_code == 302

    after = session_key(client)
    assert after != before
    assert redis_copy(before) is None
    assert not Session.objects.filter(session_key=before).exists()
    assert cart(client) == {str(goods.mug.pk): 1}  # the cart survives the login


def test_a_save_redis_refuses_moves_the_session_to_a_key_redis_never_saw(goods, shopper: User) -> None:
    client = Client()
    assert client.login(username=shopper.email, password=PASSWORD)
    add_to_cart(client, goods.mug.pk)
    old_key = session_key(client)

    with redis_full():
        add_to_cart(client, goods.teapot.pk)  # acknowledged: MongoDB has it, Redis kept the old copy
        new_key = session_key(client)
        assert new_key != old_key
        assert redis_copy(old_key)["cart"]["units"] == 1  # the copy a reader of the old key would get
        assert redis_copy(new_key) is None
        assert stored(new_key)["cart"]["units"] == 2

    assert cart(client) == {str(goods.mug.pk): 1, str(goods.teapot.pk): 1}
    assert client.get("/account/").status_code == 200  # still signed in
    assert redis_copy(new_key)["cart"]["units"] == 2  # cached again on that read
    # The old key's row serves requests already on their way, then expires.
    grace_end = Session.objects.get(session_key=old_key).expire_date
    assert grace_end <= timezone.now() + timedelta(seconds=SUPERSEDED_GRACE_SECONDS)
    index = get_redis_connection("default").smembers(site_sessions.site_sessions_key(shopper.pk))
    assert new_key.encode() in index  # a ban or "sign out everywhere" ends it too


def test_cart_lines_added_while_redis_is_down_survive_its_return_with_old_copies(
    goods, shopper: User, settings
) -> None:
    client = Client()
    assert client.login(username=shopper.email, password=PASSWORD)
    add_to_cart(client, goods.mug.pk)
    old_key = session_key(client)

    with redis_down(settings):
        add_to_cart(client, goods.teapot.pk)
        add_to_cart(client, goods.mug.pk)
        assert client.get("/orders/cart/").status_code == 200
        assert client.get("/account/").status_code == 200  # signed in while Redis is down
        during = session_key(client)

    # Redis is back holding the copy from before the outage, as an append-only Redis restarted would.
    assert redis_copy(old_key)["cart"]["units"] == 1
    assert during != old_key
    page = client.get("/orders/cart/").text
    assert "Cart (3)" in page
    assert cart(client) == {str(goods.mug.pk): 2, str(goods.teapot.pk): 1}
    index = get_redis_connection("default").smembers(site_sessions.site_sessions_key(shopper.pk))
    assert during.encode() in index  # indexed once Redis answered again


def test_a_logout_while_redis_is_down_deletes_the_copy_at_the_next_contact(shopper: User, settings) -> None:
    client = Client()
    assert client.login(username=shopper.email, password=PASSWORD)
    key = session_key(client)
    assert client.get("/account/").status_code == 200

    with redis_down(settings):
        assert client.post("/account/logout/").status_code == 302

    assert redis_copy(key) is not None  # what Redis still holds after the outage
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert thief.get("/account/").status_code == 302  # signed out: the copy was deleted before the read
    assert redis_copy(key) is None


def test_a_copy_left_by_a_logout_during_an_outage_is_deleted_before_a_cached_page_reads_it(
    shopper: User, settings
) -> None:
    """The cached catalog pages read the session in their own round trip (shop/page_cache.py): not while a copy
    waits to be deleted."""
    client = Client()
    assert client.login(username=shopper.email, password=PASSWORD)
    key = session_key(client)
    Client().get("/")  # the shared page is stored
    assert "Log out" in client.get("/").text

    with redis_down(settings):
        assert client.post("/account/logout/").status_code == 302

    assert redis_copy(key) is not None
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = key
    page = thief.get("/").text
    assert "Log in" in page
    assert "Log out" not in page
    assert redis_copy(key) is None


def test_a_fill_after_a_miss_never_overwrites_a_newer_copy(goods, client: Client) -> None:
    add_to_cart(client, goods.mug.pk)
    key = session_key(client)
    get_redis_connection("default").delete(f"sess:data:{key}")
    reader = SessionStore(key)
    read_from_db = reader._get_session_from_db

    def read_then_a_concurrent_request_saves() -> Session | None:
        row = read_from_db()  # the reader has the old data ...
        writer = SessionStore(key)
        writer["cart"] = {"lines": {str(goods.mug.pk): 1, str(goods.teapot.pk): 1}, "units": 2}
        writer.save()  # ... when another request stores and caches a newer one
        return row

    reader._get_session_from_db = read_then_a_concurrent_request_saves  # type: ignore[method-assign]
    assert reader.load()["cart"]["units"] == 1  # this request saw the old data

    assert redis_copy(key)["cart"]["units"] == 2  # the reader's fill did not overwrite it
