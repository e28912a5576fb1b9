"""The language switch (config/views.py): a POST without a CSRF token, so pages that show it can be cached."""

from __future__ import annotations

from django.test import Client


def test_language_switch_needs_no_csrf_token() -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/i18n/setlang/", {"language": "es", "next": "/c/t-shirts/"})
    assert response.status_code == 302
    assert response["Location"] == "/c/t-shirts/"
    assert response.cookies["django_language"].value == "es"
    # GET still changes nothing (Django's set_language), and the redirect stays on this site.
    assert not strict.get("/i18n/setlang/", {"language": "en", "next": "/"}).cookies.get("django_language")
    elsewhere = strict.post("/i18n/setlang/", {"language": "es", "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/"
