"""Security headers over real HTTP: CSP and friends on shop pages, the API and the admin.

HSTS and secure cookies need HTTPS and are production's (config/tests/test_settings.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from config.security import (
    CSP_HEADER,
    CSP_REPORT_ONLY_HEADER,
    ContentSecurityPolicyMiddleware,
    policies_by_prefix,
    policy_header,
)
from tests.security.helpers import Server, session_cookie

ROOT = Path(__file__).resolve().parents[2]
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
EVERY_RESPONSE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secured(response: httpx.Response, *, policy: str = POLICY) -> None:
    assert response.headers.get(CSP_HEADER) == policy, response.url
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (response.url, name)


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html"),
        ("/c/mugs/", 200, "text/html"),
        ("/p/mug/", 200, "text/html"),
        ("/search/?q=mug", 200, "text/html"),
        ("/no-such-page/", 404, "text/html"),
        ("/api/products/", 200, "application/json"),
        ("/api/orders/", 401, "application/json"),
        ("/api/schema/", 200, "application/vnd.oai.openapi"),
        ("/admin/login/", 200, "text/html"),
        ("/healthz", 200, "application/json"),
    ],
)
def test_every_kind_of_response_carries_the_headers(
    server: Server, goods: SimpleNamespace, path: str, status: int, content_type: str
) -> None:
    response = httpx.get(f"{server.base_url}{path}", timeout=30)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(content_type)
    assert_secured(response)
    assert "strict-transport-security" not in response.headers  # production only, over HTTPS


def test_signed_in_admin_and_staff_pages_carry_the_strict_policy(
    server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    people.staff.is_superuser = True
    people.staff.save()
    cookies = {settings.SESSION_COOKIE_NAME: session_cookie(people.staff)}
    for path in (
        "/admin/",
        "/admin/shop/product/",
        f"/admin/shop/product/{goods.mug.pk}/change/",
        "/staff/orders/",
        "/staff/analytics/",
    ):
        response = httpx.get(f"{server.base_url}{path}", cookies=cookies, timeout=30)
        assert response.status_code == 200, path
        assert_secured(response)


def test_the_api_docs_allow_inline_styles_only(server: Server, transactional_db) -> None:
    page = httpx.get(f"{server.base_url}/api/docs/", timeout=30)
    assert page.status_code == 200
    assert_secured(page, policy=POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))
    # The start-up script is a file (drf-spectacular's split view), so script-src stays 'self'.
    assert "<script>" not in page.text
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', page.text)
    assert script_url is not None
    script = httpx.get(f"{server.base_url}{script_url.group(1).replace('&amp;', '&')}", timeout=30)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.text


def test_a_csrf_failure_gets_our_page_not_djangos_inline_styled_one(server: Server, transactional_db) -> None:
    response = httpx.post(
        f"{server.base_url}/account/login/", data={"username": "a@example.com", "password": "x"}, timeout=30
    )
    assert response.status_code == 403
    assert_secured(response)
    assert "Please try again" in response.text
    assert "<style" not in response.text


def test_report_only_mode_sends_the_same_policy_without_enforcing_it(settings) -> None:
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = True  # local settings in debug
    response = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("ok"))(RequestFactory().get("/"))
    assert response[CSP_REPORT_ONLY_HEADER] == POLICY
    assert CSP_HEADER not in response


def test_exceptions_replace_single_directives_under_their_prefix() -> None:
    base = {"default-src": ["'self'"], "style-src": ["'self'"]}
    headers = policies_by_prefix(base, {"/docs/": {"style-src": ["'self'", "'unsafe-inline'"]}, "/docs/x/": {}})
    assert headers == [
        ("/docs/x/", "default-src 'self'; style-src 'self'"),
        ("/docs/", "default-src 'self'; style-src 'self' 'unsafe-inline'"),
        ("", "default-src 'self'; style-src 'self'"),
    ]
    assert policy_header(settings.CONTENT_SECURITY_POLICY) == POLICY


# --- What keeps the strict policy working: no inline code in our own files ------------------------

# The site's pages. Not templates/emails/: an e-mail is read in a mail client, where no page policy
# applies and styles must be inline (clients drop <style> and linked sheets); it has no scripts.
EMAILS = ROOT / "templates" / "emails"
TEMPLATES = sorted(path for path in (ROOT / "templates").rglob("*.html") if EMAILS not in path.parents)
EMAIL_TEMPLATES = sorted(EMAILS.rglob("*.html"))
INLINE_CODE = {
    "inline <script> (only src= or JSON data blocks)": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
    ),
    "<style> element": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}
UNSAFE_DOM = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_templates_have_no_inline_code(template: Path) -> None:
    text = template.read_text()
    found = [name for name, pattern in INLINE_CODE.items() if pattern.search(text)]
    assert found == []


@pytest.mark.parametrize("template", EMAIL_TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_email_templates_have_no_code_at_all(template: Path) -> None:
    text = template.read_text()
    assert re.search(r"<script\b", text, re.I) is None
    assert [name for name in ("event handler attribute", "javascript: URL") if INLINE_CODE[name].search(text)] == []


def test_the_inline_code_patterns_catch_what_they_should() -> None:
    bad = '<script>x()</script><style>a{}</style><a style="x" onclick="y" href="javascript:z">'
    assert all(pattern.search(bad) for pattern in INLINE_CODE.values())
    good = '<script src="/static/js/live.js" defer></script><script id="x" type="application/json">{}</script>'
    assert not any(pattern.search(good) for pattern in INLINE_CODE.values())


def test_scripts_never_parse_strings_as_html() -> None:
    # static/js/live.js renders pushed data (names, e-mails) with textContent and setAttribute.
    scripts = sorted((ROOT / "static" / "js").rglob("*.js"))
    assert scripts
    for script in scripts:
        assert UNSAFE_DOM.findall(script.read_text()) == [], script
