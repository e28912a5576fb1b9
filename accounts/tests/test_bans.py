"""Bans in Django admin, and the user's own sessions page."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss@example.com", PASSWORD))
    return client


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("ana@example.com", PASSWORD)


def signed_in(user: User) -> tuple[Client, APIClient]:
    """The user signed in on the site (a session) and through the API (a token)."""
    site = Client()
    assert site.login(username=user.email, password=PASSWORD)
    assert site.get("/account/").status_code == 200
    api = APIClient()
    pair = services.token_pair_issue(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get("/api/auth/sessions/").status_code == 200
    return site, api


def assert_signed_out(site: Client, api: APIClient) -> None:
    response = site.get("/account/")
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]
    assert api.get("/api/auth/sessions/").status_code == 401


def test_block_action_signs_the_user_out_everywhere(admin_client: Client, shopper: User) -> None:
    site, api = signed_in(shopper)
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "block_users", "_selected_action": [str(shopper.pk)]}, follow=True
    )
    assert "1 user blocked" in response.content.decode()
    assert_signed_out(site, api)
    shopper.refresh_from_db()
    assert shopper.is_active is False
    assert shopper.blocked_at is not None
    assert shopper.blocked_by == "boss@example.com"
    listing = admin_client.get("/admin/accounts/user/?is_active__exact=0").content.decode()
    assert "ana@example.com" in listing
    assert "boss@example.com" in listing  # who blocked, in the list


def test_unticking_active_is_a_ban(admin_client: Client, shopper: User) -> None:
    site, api = signed_in(shopper)
    response = admin_client.post(
        f"/admin/accounts/user/{shopper.pk}/change/",
        {"email": shopper.email, "full_name": "", "is_staff": "", "date_joined_0": "2026-01-01",
         "date_joined_1": "10:00:00", "groups": [], "user_permissions": []},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    assert_signed_out(site, api)
    shopper.refresh_from_db()
    assert shopper.blocked_at is not None


def test_unblock_lets_the_user_back_in(admin_client: Client, shopper: User) -> None:
    services.user_block(user=shopper)
    assert not Client().login(username=shopper.email, password=PASSWORD)
    admin_client.post("/admin/accounts/user/", {"action": "unblock_users", "_selected_action": [str(shopper.pk)]})
    shopper.refresh_from_db()
    assert shopper.is_active
    assert shopper.blocked_at is None
    assert Client().login(username=shopper.email, password=PASSWORD)


def test_admins_cannot_block_themselves(admin_client: Client) -> None:
    me = User.objects.get(email="boss@example.com")
    admin_client.post("/admin/accounts/user/", {"action": "block_users", "_selected_action": [str(me.pk)]})
    me.refresh_from_db()
    assert me.is_active


def test_the_api_sessions_page_lists_and_ends_them(shopper: User) -> None:
    site, api = signed_in(shopper)
    services.token_pair_issue(user=shopper, user_agent="Shop CLI 2.0", ip="127.0.0.1")
    page = site.get("/account/sessions/").content.decode()
    assert "Shop CLI 2.0" in page
    family = services.api_sessions(user=shopper)[0]["family"]
    response = site.post(f"/account/sessions/{family}/end/", follow=True)
    assert "no longer work" in response.content.decode()
    assert "Shop CLI 2.0" not in site.get("/account/sessions/").content.decode()
    assert api.get("/api/auth/sessions/").status_code == 200, "the other session goes on"
    assert site.post("/account/sessions/not-mine/end/", follow=True).status_code == 200


def test_sign_out_everywhere_from_the_api_sessions_page(shopper: User) -> None:
    site, api = signed_in(shopper)
    other_browser = Client()
    assert other_browser.login(username=shopper.email, password=PASSWORD)
    response = site.post("/account/sessions/end-all/")
    assert response.status_code == 302
    assert_signed_out(site, api)
    assert other_browser.get("/account/").status_code == 302


def test_the_api_sessions_pages_need_login_and_post(client: Client, shopper: User) -> None:
    assert client.get("/account/sessions/").status_code == 302
    site, _ = signed_in(shopper)
    assert site.get("/account/sessions/end-all/").status_code == 405
