"""The strict Content-Security-Policy in a real browser (Debian's Chromium, driven by Playwright as
in tests/e2e), against the real uvicorn: every page we serve, the admin and the API docs run
without a single violation or script error; the policy really blocks injected inline code; and
live.js renders hostile customer data pushed over the WebSocket as text.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page

from accounts.models import User
from orders.models import OrderStatus, ShippingAddress
from orders.services import CartLine, order_place, order_status_change
from tests.security.helpers import Server, session_cookie

# Valid e-mail addresses (quoted local parts) whose text is markup that would set window.pwned.
EVIL_CUSTOMER = '"<img/src=x/onerror=window.pwned=1>"@example.com'
EVIL_STAFF = '"<svg/onload=window.pwned=2>"@example.com'
NO_MARKUP = "!document.querySelector('main img[src=x], main svg, [data-timeline] img, [data-orders-table] img')"
# Runs before the page's own scripts (init scripts are not subject to the page's CSP): records
# every CSP violation, and counts WebSocket messages so a test can wait for live.js.
WATCH_PAGE = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile}:${event.lineNumber}`);
});
window.__socketMessages = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", () => { window.__socketMessages += 1; });
  }
};
"""


@dataclass
class Tab:
    """A page in a browser context of its own (its own cookies), and the errors it threw."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def clean(self) -> tuple[list[str], list[str]]:
        """(CSP violations, uncaught errors) so far: both empty on a healthy page."""
        return self.page.evaluate("window.__violations"), self.errors


def in_thread[T](service: Callable[..., T], **kwargs: Any) -> T:
    """Call a service from a thread without an event loop: its push (async_to_sync) refuses to
    run in this one, where Playwright's loop runs."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(service, **kwargs).result(timeout=30)


@pytest.fixture(autouse=True)
def _database_calls_next_to_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let this module's own ORM calls run while Playwright's sync API holds an event loop.

    Playwright runs a loop in the main thread, so Django takes every ORM call made here for one
    from async code and refuses it. These calls are plain synchronous test set-up; Django's
    documented switch allows them. (The e2e journeys need none: their server is a subprocess.)
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def open_tab(open_context: Callable[..., BrowserContext], server: Server) -> Callable[..., Tab]:
    """Opens tabs, signed in as a user or anonymous; closed (with their sockets) after the test."""

    def open_one(user: User | None = None) -> Tab:
        context = open_context(server.base_url)
        context.set_default_timeout(15_000)
        if user is not None:
            cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": server.base_url}
            context.add_cookies([cookie])
        context.add_init_script(WATCH_PAGE)
        tab = Tab(context.new_page())
        tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    return open_one


def test_every_page_runs_under_the_policy_without_violations(
    open_tab: Callable[..., Tab], people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    people.staff.is_superuser = True
    people.staff.save()
    order = order_place(
        user=people.ana, lines=[CartLine(str(goods.mug.pk), 1)],
        address=ShippingAddress(full_name="Ana", line1="Calle Mayor 1", city="Madrid", postal_code="28013"),
    )  # fmt: skip
    shopper, staff = open_tab(people.ana), open_tab(people.staff)
    live_pages = {"/orders/", f"/orders/{order.number}/", "/staff/orders/"}
    for tab, path in [
        (shopper, "/"),
        (shopper, "/c/mugs/"),
        (shopper, f"/p/{goods.mug.slug}/"),
        (shopper, "/search/?q=mug"),
        (shopper, "/orders/cart/"),
        (shopper, "/account/"),
        (shopper, "/no-such-page/"),
        (shopper, "/orders/"),
        (shopper, f"/orders/{order.number}/"),
        (staff, "/staff/orders/"),
        (staff, "/staff/analytics/"),
        (staff, "/admin/"),
        (staff, "/admin/shop/product/"),
        (staff, f"/admin/shop/product/{goods.mug.pk}/change/"),
        (staff, "/admin/orders/order/"),
        (staff, f"/admin/orders/order/{order.pk}/change/"),
        (staff, "/admin/accounts/user/"),
        (staff, "/admin/shop/category/add/"),  # last: its prepopulated slug is tried below
    ]:
        tab.page.goto(path)
        if path in live_pages:
            # live.js connected (connect-src 'self' covers ws://) and got the resync answer.
            tab.page.wait_for_function("() => window.__socketMessages >= 1")
        if path == "/staff/analytics/":  # its snapshot arrived and Chart.js drew it, under the policy
            tab.page.wait_for_function("() => document.querySelector('[data-snapshots]').dataset.snapshots >= 1")
        assert tab.clean() == ([], []), path
    # The admin's own scripts run: the prepopulated slug follows the name (urlify.js).
    staff.page.locator("#id_name").press_sequentially("Tea Cups")
    assert staff.page.locator("#id_slug").input_value() == "tea-cups"
    assert staff.clean() == ([], [])


def test_the_api_docs_render_under_their_policy(open_tab: Callable[..., Tab], transactional_db) -> None:
    tab = open_tab()
    tab.page.goto("/api/docs/")
    assert "Tienda API" in tab.page.locator(".swagger-ui .info .title").text_content()
    assert tab.clean() == ([], [])


def test_the_browser_blocks_injected_inline_code(open_tab: Callable[..., Tab], transactional_db) -> None:
    # As if an escaping bug let markup through: the policy is the second line of defence.
    tab = open_tab()
    tab.page.goto("/")
    tab.page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="window.pwned=1">');
          const script = document.createElement("script");
          script.textContent = "window.pwned = 2";
          document.body.appendChild(script);
        }"""
    )
    tab.page.wait_for_function("() => window.__violations.length >= 2")
    assert tab.page.evaluate("window.pwned === undefined")
    violations, _ = tab.clean()
    assert {entry.split(" ")[0] for entry in violations} <= {"script-src-attr", "script-src-elem"}


def test_live_js_renders_hostile_pushes_as_text(open_tab: Callable[..., Tab], goods: SimpleNamespace) -> None:
    staff = User.objects.create_user(EVIL_STAFF, "x", is_staff=True)
    customer = User.objects.create_user(EVIL_CUSTOMER, "x")
    dashboard, order_tab = open_tab(staff), open_tab(customer)
    dashboard.page.goto("/staff/orders/")
    dashboard.page.wait_for_function("() => window.__socketMessages >= 1")

    hostile_address = ShippingAddress(full_name="<b>Eve</b>", line1="x", city="y", postal_code="1", country="ES")
    order = in_thread(order_place, user=customer, lines=[CartLine(str(goods.mug.pk), 1)], address=hostile_address)
    # The new order arrives as a push and live.js builds its row.
    email_cell = dashboard.page.locator(f"[data-order-id='{order.pk}'] td:nth-child(3)")
    assert email_cell.text_content() == EVIL_CUSTOMER

    order_tab.page.goto(f"/orders/{order.number}/")
    order_tab.page.wait_for_function("() => window.__socketMessages >= 1")
    in_thread(order_status_change, order=order, to=OrderStatus.PAID, actor=staff)  # the actor's e-mail is pushed
    assert EVIL_STAFF in order_tab.page.locator("[data-timeline] [data-seq='2']").text_content()
    for tab in (dashboard, order_tab):
        assert tab.page.evaluate(NO_MARKUP)
        assert tab.page.evaluate("window.pwned === undefined")
        assert tab.clean() == ([], [])


def submitted_from_another_site(page: Any, action: str, fields: str = "") -> int:
    """The status of a form posted to ``action`` from a page of another site (http://evil.example)."""
    hostile = f'<form method="post" action="{action}">{fields}<button>Go</button></form>'
    page.route("http://evil.example/**", lambda route: route.fulfill(body=hostile, content_type="text/html"))
    page.goto("http://evil.example/")
    with page.expect_response(action) as answer:
        page.get_by_role("button", name="Go").click()
    return answer.value.status


def test_the_language_switch_needs_no_token_yet_refuses_other_sites(
    open_tab: Callable[..., Tab], server: Server, goods: SimpleNamespace
) -> None:
    # The switch carries no CSRF token, so the page around it is cached whole for visitors
    # without a session (shop/page_cache.py); the origin Chromium declares guards it instead.
    tab = open_tab()
    page = tab.page
    for _ in range(2):  # the second answer is the cached page
        page.goto("/c/mugs/")
        assert page.locator("html").get_attribute("lang") == "en"
    page.locator("#language").select_option("es")
    page.locator(".language-switch button").click()
    page.wait_for_url("**/c/mugs/")
    assert page.locator("html").get_attribute("lang") == "es"

    assert (
        submitted_from_another_site(page, f"{server.base_url}/i18n/setlang/", '<input name="language" value="en">')
        == 403
    )
    page.goto("/c/mugs/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert tab.clean() == ([], [])


def test_the_logout_needs_no_token_yet_refuses_other_sites(
    open_tab: Callable[..., Tab], server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    # The navigation's logout form carries no CSRF token (docs/decisions/0015-logout-without-a-csrf-token.md).
    tab = open_tab(people.ana)
    page = tab.page
    assert submitted_from_another_site(page, f"{server.base_url}/account/logout/") == 403
    page.goto("/c/mugs/")
    assert page.locator("[data-account-link]").count() == 1  # still signed in
    page.locator(".nav-logout button").click()
    page.wait_for_url("**/")
    assert page.locator("[data-account-link]").count() == 0
    assert tab.clean() == ([], [])
