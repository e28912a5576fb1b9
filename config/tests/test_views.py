"""The language switch (config/views.py): no CSRF token, so pages that show it can be cached whole;
the request's origin guards it instead."""

from __future__ import annotations

import pytest
from django.test import Client

SWITCH = "/i18n/setlang/"
TO_SPANISH = {"language": "es", "next": "/c/t-shirts/"}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser, or one too old to say: no page on another site is behind it
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Origin": "http://testserver"},
    ],
)
def test_the_switch_needs_no_csrf_token_from_this_site(headers: dict[str, str]) -> None:
    response = Client(enforce_csrf_checks=True, headers=headers).post(SWITCH, TO_SPANISH)
    assert response.status_code == 302
    assert response["Location"] == "/c/t-shirts/"
    assert response.cookies["django_language"].value == "es"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.testserver"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_a_post_from_another_site_gets_the_csrf_failure_page(headers: dict[str, str]) -> None:
    response = Client(enforce_csrf_checks=True, headers=headers).post(SWITCH, TO_SPANISH)
    assert response.status_code == 403
    assert "django_language" not in response.cookies


def test_a_trusted_origin_may_switch(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://shop.example"]
    response = Client(headers={"Origin": "https://shop.example"}).post(SWITCH, TO_SPANISH)
    assert response.cookies["django_language"].value == "es"


def test_get_changes_nothing_and_next_stays_on_this_site() -> None:
    client = Client(enforce_csrf_checks=True)
    # Django's set_language: a GET only redirects.
    assert "django_language" not in client.get(SWITCH, {"language": "en", "next": "/"}).cookies
    elsewhere = client.post(SWITCH, {"language": "es", "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/"
