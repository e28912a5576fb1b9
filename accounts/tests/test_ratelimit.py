"""Login, password-reset and sign-up throttling (accounts/ratelimit.py) against the real Redis."""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.http import HttpResponse
from django.test import Client, override_settings
from django_redis import get_redis_connection

from accounts import ratelimit
from accounts.forms import LOGIN_FAILED
from accounts.models import User
from common.tests.helpers import redis_down_caches
from tests.jobs.workers import jobs_run

pytestmark = pytest.mark.django_db

PASSWORD = "plum-harbour-42"


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("ana@example.com", PASSWORD)


def login(client: Client, email: str = "ana@example.com", password: str = PASSWORD, ip: str = "127.0.0.1"):
    return client.post("/account/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail(client: Client, times: int, email: str = "ana@example.com", ip: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert login(client, email=email, password="wrong-guess", ip=ip).status_code == 200


def test_defaults_and_key_names() -> None:
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 5
    assert settings.LOGIN_FAILURES_PER_IP == 20
    assert settings.LOGIN_FAILURE_WINDOW_SECONDS == 15 * 60
    digest = hashlib.sha256(b"ana@example.com").hexdigest()[:32]
    assert ratelimit.login_account_key(" Ana@Example.COM ") == f"rl:login:account:{digest}"
    assert ratelimit.login_ip_key("10.0.0.7") == "rl:login:ip:10.0.0.7"
    assert ratelimit.reset_ip_key("10.0.0.7") == "rl:reset:ip:10.0.0.7"


def test_five_failures_lock_the_account_even_for_the_right_password(client: Client, shopper: User) -> None:
    fail(client, 5, email="Ana@Example.com")

    response = login(client)

    assert response.status_code == 429
    assert "Too many failed attempts. Try again in 15 minutes." in response.text
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert client.session.get(SESSION_KEY) is None
    redis_db = get_redis_connection("default")
    account_key = ratelimit.login_account_key("ana@example.com")
    ip_key = ratelimit.login_ip_key("127.0.0.1")
    assert int(redis_db.get(account_key)) == 5  # refused attempts are not counted
    assert 0 < redis_db.ttl(account_key) <= 15 * 60
    assert 0 < redis_db.ttl(ip_key) <= 15 * 60


def test_lockout_is_per_account(client: Client, shopper: User) -> None:
    User.objects.create_user("luis@example.com", PASSWORD)
    fail(client, 5)

    assert login(client, email="luis@example.com").status_code == 302


def test_successful_login_clears_the_account_counter_only(client: Client, shopper: User) -> None:
    fail(client, 4)

    assert login(client).status_code == 302

    redis_db = get_redis_connection("default")
    assert redis_db.exists(ratelimit.login_account_key("ana@example.com")) == 0
    assert int(redis_db.get(ratelimit.login_ip_key("127.0.0.1"))) == 4


def test_failures_from_one_ip_across_accounts_hit_the_ip_limit(client: Client, shopper: User, settings) -> None:
    settings.LOGIN_FAILURES_PER_IP = 6
    for number in range(6):
        fail(client, 1, email=f"guess{number}@example.com", ip="10.0.0.7")

    locked = login(client, ip="10.0.0.7")
    elsewhere = login(Client(), ip="10.0.0.8")

    assert locked.status_code == 429
    assert str(LOGIN_FAILED) not in locked.text
    assert elsewhere.status_code == 302


def test_limits_come_from_settings(client: Client, shopper: User, settings) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 120
    fail(client, 2)

    response = login(client)

    assert response.status_code == 429
    assert "Try again in 2 minutes." in response.text
    assert 0 < get_redis_connection("default").ttl(ratelimit.login_account_key("ana@example.com")) <= 120


def test_password_reset_is_limited_per_ip_without_mailing(client: Client, shopper: User, settings) -> None:
    settings.LOGIN_FAILURES_PER_IP = 2
    for _ in range(2):
        assert client.post("/account/password/reset/", {"email": "ana@example.com"}).status_code == 302
    mail.outbox.clear()

    response = client.post("/account/password/reset/", {"email": "ana@example.com"})

    assert response.status_code == 429
    assert "Too many password reset requests. Try again in 15 minutes." in response.text
    assert mail.outbox == []
    assert get_redis_connection("default").ttl(ratelimit.reset_ip_key("127.0.0.1")) > 0
    # Reset requests are not failed logins: the login page is still open to this address.
    assert login(client).status_code == 302


def test_password_reset_lifts_the_account_lockout(client: Client, shopper: User) -> None:
    fail(client, 5)
    client.post("/account/password/reset/", {"email": "ana@example.com"})
    jobs_run()  # the reset e-mail is sent by a job
    link = mail.outbox[0].body.split(settings.SITE_URL, 1)[1].split()[0]
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": "quiet-lantern-97", "new_password2": "quiet-lantern-97"})

    assert login(client, password="quiet-lantern-97").status_code == 302


def test_login_and_reset_fail_open_when_redis_is_down(
    client: Client, shopper: User, settings, caplog: pytest.LogCaptureFixture
) -> None:
    dead = redis_down_caches(settings.CACHES)
    started = time.monotonic()
    with override_settings(CACHES=dead), caplog.at_level(logging.WARNING):
        fail(client, 6)
        response = login(client)
        reset = client.post("/account/password/reset/", {"email": "ana@example.com"})

    assert response.status_code == 302
    assert reset.status_code == 302  # the same answer as ever; the reset e-mail could not be queued
    assert mail.outbox == []
    assert "failing open" in caplog.text
    assert "could not queue accounts.jobs.password_reset_mail" in caplog.text
    assert time.monotonic() - started < 5


# --- The other two doors: Django admin's login and the API token endpoint share the counters ---


def admin_login(client: Client, email: str, password: str) -> HttpResponse:
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password, "next": "/admin/"})


def test_admin_login_is_locked_after_five_failures_even_for_the_right_password(client: Client) -> None:
    User.objects.create_user("boss@example.com", PASSWORD, is_staff=True)
    for _ in range(5):
        assert admin_login(client, "boss@example.com", "wrong-guess").status_code == 200
    locked = admin_login(client, "boss@example.com", PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert "Too many failed attempts. Try again in 15 minutes." in locked.content.decode()
    assert client.session.get(SESSION_KEY) is None
    # The site's login is locked for that account too: one counter per account, whatever the door.
    assert login(client, email="boss@example.com").status_code == 429


def test_admin_login_success_clears_the_accounts_failures(client: Client) -> None:
    User.objects.create_user("boss@example.com", PASSWORD, is_staff=True)
    for _ in range(4):
        admin_login(client, "boss@example.com", "wrong-guess")
    assert admin_login(client, "boss@example.com", PASSWORD).status_code == 302
    assert get_redis_connection("default").get(ratelimit.login_account_key("boss@example.com")) is None


def test_api_tokens_are_locked_after_five_failures_even_for_the_right_password(shopper: User) -> None:
    client = Client()

    def obtain(password: str) -> HttpResponse:
        body = {"email": "ana@example.com", "password": password}
        return client.post("/api/auth/token/", body, content_type="application/json")

    for _ in range(5):
        assert obtain("wrong-guess").status_code == 401
    locked = obtain(PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert locked.json()["detail"].startswith("Too many failed attempts. Try again in 15 minutes.")
    assert "access" not in locked.json()
    assert login(Client()).status_code == 429  # and the site's login for that account


def test_api_token_success_clears_the_accounts_failures(shopper: User) -> None:
    client = Client()
    for _ in range(4):
        client.post("/api/auth/token/", {"email": "ana@example.com", "password": "x"}, content_type="application/json")
    body = {"email": "ana@example.com", "password": PASSWORD}
    assert client.post("/api/auth/token/", body, content_type="application/json").status_code == 200
    assert get_redis_connection("default").get(ratelimit.login_account_key("ana@example.com")) is None


# --- Sign-ups: at most SIGNUPS_PER_IP accounts per client address and window ---

SIGNUP_REFUSED_EN = "Too many accounts were created from your network. Try again in 60 minutes."
SIGNUP_REFUSED_ES = "Se han creado demasiadas cuentas desde tu red. Vuelve a intentarlo dentro de 60 minutos."


def signup(number: int, ip: str = "10.0.0.9", language: str = "en", **fields: str) -> HttpResponse:
    """A fresh visitor (its own session) signing up as ``new<number>@example.com`` from ``ip``."""
    body = {"email": f"new{number}@example.com", "full_name": "New", "password1": PASSWORD, "password2": PASSWORD}
    return Client().post("/account/signup/", {**body, **fields}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=language)


def test_signup_limit_defaults_and_key_name() -> None:
    assert settings.SIGNUPS_PER_IP == 5
    assert settings.SIGNUP_WINDOW_SECONDS == 60 * 60
    assert ratelimit.signup_ip_key("10.0.0.9") == "rl:signup:ip:10.0.0.9"


def test_the_sixth_signup_from_one_address_in_an_hour_is_refused_with_429() -> None:
    for number in range(5):
        assert signup(number).status_code == 302

    refused = signup(5)
    spanish = signup(6, language="es")

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60 * 60
    assert SIGNUP_REFUSED_EN in refused.text
    assert 'value="new5@example.com"' in refused.text  # what was typed stays, passwords do not
    assert PASSWORD not in refused.text
    assert spanish.status_code == 429
    assert SIGNUP_REFUSED_ES in spanish.text
    assert not User.objects.filter(email__in=["new5@example.com", "new6@example.com"]).exists()
    redis_db = get_redis_connection("default")
    key = ratelimit.signup_ip_key("10.0.0.9")
    assert int(redis_db.get(key)) == 5  # refusals are not counted
    assert 0 < redis_db.ttl(key) <= 60 * 60
    assert signup(7, ip="10.0.0.10").status_code == 302  # another address is not affected


def test_forms_sent_back_with_errors_do_not_count(settings) -> None:
    settings.SIGNUPS_PER_IP = 1
    for number in range(3):
        assert signup(number, password2="something-else-42").status_code == 200

    assert signup(9).status_code == 302
    assert signup(10).status_code == 429


def test_the_window_and_limit_come_from_settings(settings) -> None:
    settings.SIGNUPS_PER_IP = 2
    settings.SIGNUP_WINDOW_SECONDS = 120
    assert signup(0).status_code == 302
    assert signup(1).status_code == 302

    refused = signup(2)

    assert refused.status_code == 429
    assert "Try again in 2 minutes." in refused.text
    assert 0 < int(refused["Retry-After"]) <= 120


def test_concurrent_signups_cannot_slip_past_the_limit(settings) -> None:
    settings.SIGNUPS_PER_IP = 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda number: signup(number).status_code, range(8)))

    assert statuses == [302] * 3 + [429] * 5
    assert User.objects.filter(email__startswith="new").count() == 3


def test_signups_fail_open_when_redis_is_down_like_logins(settings, caplog: pytest.LogCaptureFixture) -> None:
    # The documented choice (accounts/ratelimit.py, docs/security.md): an outage must not stop
    # new customers at checkout; it removes the brake for as long as it lasts.
    settings.SIGNUPS_PER_IP = 1
    dead = redis_down_caches(settings.CACHES)
    started = time.monotonic()
    with override_settings(CACHES=dead), caplog.at_level(logging.WARNING):
        statuses = [signup(number).status_code for number in range(3)]

    assert statuses == [302, 302, 302]
    assert User.objects.filter(email__startswith="new").count() == 3
    assert "sign-up limit skipped (Redis unavailable, failing open)" in caplog.text
    assert time.monotonic() - started < 5
