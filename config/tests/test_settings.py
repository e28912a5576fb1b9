"""Production settings: deploy checks clean, and a clear error for every missing secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from devstack.processes import free_port, port_in_use

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-for-the-check-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "MONGODB_URI": "mongodb://db.internal:27017/tienda?replicaSet=rs0",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_HOST": "smtp.internal",
}


def manage(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_cannot_be_turned_on_in_production() -> None:
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", DJANGO_DEBUG="1")
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_production_writes_to_a_majority_retries_writes_and_reads_the_primary() -> None:
    show = "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']; "
    show += "print(o['w'], o['retryWrites'], o['readPreference'])"
    result = manage("shell", "-c", show)
    assert result.stdout.strip().splitlines()[-1] == "majority True primary", result.stderr


def test_production_takes_sentinels_instead_of_a_redis_url() -> None:
    show = "from django.conf import settings; c = settings.CACHES['default']; "
    show += "print(c['LOCATION'], c['OPTIONS']['SENTINELS'], settings.REDIS_REVOCATION_REPLICAS)"
    result = manage(
        "shell", "-c", show, REDIS_URL=None, REDIS_SENTINELS="10.0.0.1:26379,10.0.0.2:26379", REDIS_MASTER_NAME="tienda"
    )
    expected = "redis://tienda/0 [('10.0.0.1', 26379), ('10.0.0.2', 26379)] 1"
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("DJANGO_SECRET_KEY", "Set the DJANGO_SECRET_KEY environment variable"),
        ("DJANGO_ALLOWED_HOSTS", "Set the DJANGO_ALLOWED_HOSTS environment variable"),
        ("MONGODB_URI", "Set the MONGODB_URI environment variable"),
        ("REDIS_URL", "Set the REDIS_URL environment variable"),
        ("EMAIL_HOST", "Set the EMAIL_HOST environment variable"),
    ],
)
def test_missing_setting_is_named_at_startup(variable: str, message: str) -> None:
    result = manage("check", **{variable: None})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "ORDER_PAYMENT_WINDOW_MINUTES='0' is out of range: it must be at least 1 and at most 10080."),
        ("10081", "ORDER_PAYMENT_WINDOW_MINUTES='10081' is out of range"),
        ("half an hour", "ORDER_PAYMENT_WINDOW_MINUTES='half an hour' is not an integer."),
    ],
)
def test_a_bad_payment_window_is_refused_at_startup(value: str, message: str) -> None:
    result = manage("check", ORDER_PAYMENT_WINDOW_MINUTES=value)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_payment_window_comes_from_the_environment() -> None:
    shown = "from django.conf import settings; print(settings.ORDER_PAYMENT_WINDOW_MINUTES)"
    assert manage("shell", "-c", shown).stdout.strip().splitlines()[-1] == "30"
    assert manage("shell", "-c", shown, ORDER_PAYMENT_WINDOW_MINUTES="10080").stdout.strip().splitlines()[-1] == "10080"


def test_short_secret_key_is_refused() -> None:
    result = manage("check", DJANGO_SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "at least 50 random characters" in result.stderr


def test_demo_data_is_disabled_in_production() -> None:
    result = manage("seed_demo")
    assert result.returncode != 0
    assert "production never has demo accounts" in result.stderr


def test_wildcard_allowed_hosts_are_refused() -> None:
    result = manage("check", DJANGO_ALLOWED_HOSTS="shop.example.com,*")
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS cannot be * in production" in result.stderr


def test_short_jwt_signing_key_is_refused() -> None:
    result = manage("check", JWT_SIGNING_KEY="short-signing-key")
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY, when set, must be at least 50 random characters" in result.stderr


# --- The production server over the wire ------------------------------------------------------


@pytest.fixture(scope="module")
def production_server() -> Iterator[str]:
    """uvicorn with production settings on the suite's Redis and MongoDB (a database of its own)."""
    mongo = urlsplit(os.environ["MONGODB_URI"])
    env_changes = {
        "MONGODB_URI": urlunsplit(mongo._replace(path="/production_settings_check")),
        "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    created = manage(
        "shell", "-c", "from accounts.models import User; User.objects.filter(email='p@example.com').delete(); "
        "User.objects.create_user('p@example.com', 'production-check-password')", **env_changes,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV, **env_changes)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not port_in_use(port):
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "uvicorn did not start within 60 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(20)


def https_client(base_url: str) -> httpx.Client:
    """A client as the TLS-terminating proxy forwards it: the site's host, X-Forwarded-Proto https."""
    return httpx.Client(
        base_url=base_url, headers={"Host": "shop.example.com", "X-Forwarded-Proto": "https"}, timeout=30
    )


@pytest.mark.usefixtures("empty_redis")  # the production server shares the suite's Redis
def test_production_healthz_names_no_internal_address(production_server: str) -> None:
    with https_client(production_server) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "dependencies": {"mongodb": {"status": "ok"}, "redis": {"status": "ok"}}}


def test_production_redirects_plain_http_to_https(production_server: str) -> None:
    response = httpx.get(f"{production_server}/", headers={"Host": "shop.example.com"}, timeout=30)
    assert response.status_code == 301
    assert response.headers["location"] == "https://shop.example.com/"


@pytest.mark.usefixtures("empty_redis")
@pytest.mark.parametrize("path", ["/", "/api/products/", "/account/login/", "/admin/login/"])
def test_production_sends_hsts_csp_and_the_other_headers(production_server: str, path: str) -> None:
    with https_client(production_server) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name."""
    return {next(iter(SimpleCookie(header))): header for header in response.headers.get_list("set-cookie")}


@pytest.mark.usefixtures("empty_redis")
def test_production_cookies_are_secure_and_the_session_cookie_httponly(production_server: str) -> None:
    with https_client(production_server) as client:
        form = client.get("/account/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        csrf = set_cookies(form)["csrftoken"]
        assert token is not None
        # httpx keeps Secure cookies for https URLs only; the proxy in front speaks https.
        client.cookies.clear()
        login = client.post(
            "/account/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": "p@example.com",
                  "password": "production-check-password"},
            headers={"Referer": "https://shop.example.com/account/login/",
                     "Cookie": f"csrftoken={SimpleCookie(csrf)['csrftoken'].value}"},
        )  # fmt: skip
    assert login.status_code == 302, login.text[:500]
    session = set_cookies(login)["sessionid"].lower()
    assert "; secure" in session
    assert "; httponly" in session
    assert "samesite=lax" in session
    assert "; secure" in csrf.lower()
