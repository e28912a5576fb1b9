"""Every revocation path, over real HTTP (pytest-django's live server) against real Redis."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import translation
from django_redis import get_redis_connection

from accounts import blocklist, services
from accounts.api import ERROR_SESSION_NOT_FOUND
from accounts.models import User
from accounts.tokens import ERROR_FAMILY_ENDED
from common.tests.helpers import redis_down_caches, unreachable_redis_url

PASSWORD = "correct horse battery"


@pytest.fixture
def http(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
def shopper(transactional_db) -> User:
    return User.objects.create_user("ana@example.com", PASSWORD)


def login(http: httpx.Client, email: str = "ana@example.com", password: str = PASSWORD) -> dict[str, str]:
    response = http.post("/api/auth/token/", json={"email": email, "password": password}, headers={"User-Agent": "t/1"})
    assert response.status_code == 200, response.text
    return response.json()


def me(http: httpx.Client, access: str) -> httpx.Response:
    """An authenticated API call (the session list needs a valid token)."""
    return http.get("/api/auth/sessions/", headers={"Authorization": f"Bearer {access}"})


def english(message: object) -> str:
    """A message as the server sends it to a client that asks for no language."""
    with translation.override("en"):
        return str(message)


def detail(response: httpx.Response) -> str:
    return response.json()["detail"]


def test_login_gives_working_tokens_with_jti_and_session(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    response = me(http, pair["access"])
    assert response.status_code == 200
    [session] = response.json()
    assert session["current"] is True
    assert session["user_agent"] == "t/1"
    payload = json.loads(base64.urlsafe_b64decode(pair["access"].split(".")[1] + "=="))
    assert {"jti", "fam", "iat_ms", "exp", "user_id"} <= set(payload)
    assert payload["exp"] - payload["iat"] == 300, "access tokens live minutes"


def test_wrong_password_and_unknown_email_look_the_same(http: httpx.Client, shopper: User) -> None:
    wrong = http.post("/api/auth/token/", json={"email": "ana@example.com", "password": "nope"})
    unknown = http.post("/api/auth/token/", json={"email": "nobody@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_revokes_access_and_refresh_at_once(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    other = login(http)
    assert http.post("/api/auth/logout/", headers={"Authorization": f"Bearer {pair['access']}"}).status_code == 204
    response = me(http, pair["access"])
    assert response.status_code == 401
    assert "revoked" in detail(response)
    refreshed = http.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})
    assert refreshed.status_code == 401
    assert "session has been ended" in detail(refreshed)
    assert me(http, other["access"]).status_code == 200, "other sessions go on"
    # The entry lives exactly as long as the token would have.
    ttl = get_redis_connection("default").ttl(blocklist.revoked_key(_claims(pair["access"])["jti"]))
    assert 0 < ttl <= 300


def test_logout_with_the_channel_layer_unreachable_still_revokes_and_answers_204(
    http: httpx.Client, shopper: User, settings
) -> None:
    """Closing the session's sockets is best effort (accounts/realtime.py): the revocation is stored, and sockets
    that lost the channel layer close on their own and check their token again when they reconnect."""
    pair = login(http)
    layer = settings.CHANNEL_LAYERS["default"]
    dead = {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [{"address": unreachable_redis_url()}]}}
    with override_settings(CHANNEL_LAYERS={"default": dead}):
        assert http.post("/api/auth/logout/", headers={"Authorization": f"Bearer {pair['access']}"}).status_code == 204
    assert me(http, pair["access"]).status_code == 401


def test_logout_everywhere_revokes_tokens_never_seen(http: httpx.Client, shopper: User) -> None:
    first, second = login(http), login(http)
    unseen = services.token_pair_issue(user=shopper)  # issued, never presented to the server
    assert http.post("/api/auth/logout-all/", headers={"Authorization": f"Bearer {first['access']}"}).status_code == 204
    for pair in (first, second, unseen):
        response = me(http, pair["access"])
        assert response.status_code == 401
        assert "Log in again" in detail(response)
        assert http.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]}).status_code == 401
    assert me(http, login(http)["access"]).status_code == 200, "a new login works"


def test_ending_a_session_by_id_refuses_its_tokens_only(http: httpx.Client, shopper: User) -> None:
    phone, laptop = login(http), login(http)
    sessions = me(http, laptop["access"]).json()
    [phone_session] = [row["id"] for row in sessions if not row["current"]]
    headers = {"Authorization": f"Bearer {laptop['access']}"}
    assert http.delete(f"/api/auth/sessions/{phone_session}/", headers=headers).status_code == 204
    response = me(http, phone["access"])
    assert response.status_code == 401
    assert response.json() == {"detail": english(ERROR_FAMILY_ENDED), "code": "token_not_valid"}
    assert http.post("/api/auth/token/refresh/", json={"refresh": phone["refresh"]}).status_code == 401
    assert me(http, laptop["access"]).status_code == 200, "the session that ended the other goes on"
    unknown = http.delete(f"/api/auth/sessions/{phone_session}/", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": english(ERROR_SESSION_NOT_FOUND), "code": "not_found"}


def test_refresh_rotates_and_reuse_ends_the_family(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    rotated = http.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != pair["refresh"]
    reused = http.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})
    assert reused.status_code == 401
    assert "already used" in detail(reused)
    # The thief's replay ended the session for the legitimate holder too.
    assert http.post("/api/auth/token/refresh/", json={"refresh": new["refresh"]}).status_code == 401
    assert me(http, new["access"]).status_code == 401


def test_password_change_revokes_older_tokens(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    time.sleep(0.01)
    shopper.set_password("a brand new password")
    shopper.save()
    response = me(http, pair["access"])
    assert response.status_code == 401
    assert "password, permissions" in detail(response)
    assert me(http, login(http, password="a brand new password")["access"]).status_code == 200


def test_demoted_admin_loses_rights_at_once(http: httpx.Client, transactional_db) -> None:
    admin = User.objects.create_user("boss@example.com", PASSWORD, is_staff=True)
    pair = login(http, "boss@example.com")
    assert me(http, pair["access"]).status_code == 200
    admin.is_staff = False
    admin.save()
    assert me(http, pair["access"]).status_code == 401


def test_group_change_revokes_older_tokens(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    shopper.groups.add(Group.objects.create(name="Support"))
    assert me(http, pair["access"]).status_code == 401


def test_ban_rejects_the_very_next_request(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    services.user_block(user=shopper)
    response = me(http, pair["access"])
    assert response.status_code == 401
    assert http.post("/api/auth/token/", json={"email": "ana@example.com", "password": PASSWORD}).status_code == 401


def test_inactive_user_is_rejected_even_if_not_listed(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    User.objects.filter(pk=shopper.pk).update(is_active=False)  # no signal, no blocklist entry
    response = me(http, pair["access"])
    assert response.status_code == 401
    assert "blocked" in detail(response)


def _claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def _forge(payload: dict, *, alg: str = "HS256", key: str = "wrong-key") -> str:
    import jwt

    if alg == "none":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
        return f"{header.decode()}.{body.decode()}."
    return jwt.encode(payload, key, algorithm=alg)


def test_bad_tokens_get_401_with_a_precise_message(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    claims = _claims(pair["access"])
    cases = {
        "garbage": ("not.a.token", "Token is invalid"),
        "wrong signature": (_forge(claims), "Token is invalid"),
        "alg none": (_forge(claims, alg="none"), "Token is invalid"),
        "expired": (_forge({**claims, "exp": int(time.time()) - 10}, key=_signing_key()), "Token is expired"),
        "refresh as access": (pair["refresh"], "Token has wrong type"),
    }
    for name, (token, message) in cases.items():
        response = me(http, token)
        assert response.status_code == 401, name
        assert detail(response) == message, name
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name
    response = http.get("/api/auth/sessions/", headers={"Authorization": "Bearer"})
    assert response.status_code == 401


def _signing_key() -> str:
    from rest_framework_simplejwt.settings import api_settings

    return api_settings.SIGNING_KEY


def test_blocklist_entries_expire_with_the_token(shopper: User) -> None:
    blocklist.revoke_token(jti="abc", expires_at=int(time.time()) + 2)
    redis = get_redis_connection("default")
    assert redis.exists(blocklist.revoked_key("abc"))
    time.sleep(2.2)
    assert not redis.exists(blocklist.revoked_key("abc"))


def test_every_auth_key_has_a_ttl(http: httpx.Client, shopper: User) -> None:
    pair = login(http)
    http.post("/api/auth/ws-ticket/", headers={"Authorization": f"Bearer {pair['access']}"})
    http.post("/api/auth/logout/", headers={"Authorization": f"Bearer {pair['access']}"})
    login(http)
    services.tokens_revoke_all_for_user(user=shopper)
    redis = get_redis_connection("default")
    keys = [key for key in redis.keys("*") if not key.startswith(b"cache:")]
    assert keys
    assert all(redis.ttl(key) > 0 for key in keys), {key: redis.ttl(key) for key in keys}


def test_redis_down_fails_closed_with_503_and_catalog_serves(http: httpx.Client, shopper: User, settings) -> None:
    pair = login(http)
    dead = redis_down_caches(settings.CACHES)
    with override_settings(CACHES=dead):
        response = me(http, pair["access"])
        assert response.status_code == 503
        assert "unavailable" in detail(response)
        assert http.get("/api/products/").status_code == 200
        assert http.get("/").status_code == 200
