"""The strict Content-Security-Policy in a real browser (headless Chromium over CDP), against the
real uvicorn: every page we serve, the admin and the API docs run without a single violation or
script error; the policy really blocks injected inline code; and live.js renders hostile
customer data pushed over the WebSocket as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from django.conf import settings

from accounts.models import User
from orders.models import OrderStatus, ShippingAddress
from orders.services import CartLine, order_place, order_status_change
from tests.security.browser import Browser, Page, chromium
from tests.security.conftest import Server, session_cookie

# Valid e-mail addresses (quoted local parts) whose text is markup that would set window.pwned.
EVIL_CUSTOMER = '"<img/src=x/onerror=window.pwned=1>"@example.com'
EVIL_STAFF = '"<svg/onload=window.pwned=2>"@example.com'
NO_MARKUP = "!document.querySelector('main img[src=x], main svg, [data-timeline] img, [data-orders-table] img')"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def open_page(browser: Browser, server: Server) -> Iterator[Callable[[User | None], Page]]:
    """Opens tabs, signed in as a user or anonymous; closes them (and their sockets) after the test."""
    pages: list[Page] = []

    def open_one(user: User | None = None) -> Page:
        page = browser.new_page()
        if user is not None:
            page.set_cookie(server.base_url, settings.SESSION_COOKIE_NAME, session_cookie(user))
        pages.append(page)
        return page

    yield open_one
    for page in pages:
        page.close()


def assert_clean(page: Page, url: str) -> None:
    assert page.violations() == [], url
    assert page.errors() == [], url


def test_every_page_runs_under_the_policy_without_violations(
    open_page: Callable[..., Page], server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    people.staff.is_superuser = True
    people.staff.save()
    order = order_place(
        user=people.ana, lines=[CartLine(str(goods.mug.pk), 1)],
        address=ShippingAddress(full_name="Ana", line1="Calle Mayor 1", city="Madrid", postal_code="28013"),
    )  # fmt: skip
    shopper, staff = open_page(people.ana), open_page(people.staff)
    live_pages = {"/orders/", f"/orders/{order.number}/", "/staff/orders/"}
    for page, path in [
        (shopper, "/"),
        (shopper, "/c/mugs/"),
        (shopper, f"/p/{goods.mug.slug}/"),
        (shopper, "/search/?q=mug"),
        (shopper, "/orders/cart/"),
        (shopper, "/account/"),
        (shopper, "/account/login/"),
        (shopper, "/no-such-page/"),
        (shopper, "/orders/"),
        (shopper, f"/orders/{order.number}/"),
        (staff, "/staff/orders/"),
        (staff, "/admin/"),
        (staff, "/admin/shop/product/"),
        (staff, f"/admin/shop/product/{goods.mug.pk}/change/"),
        (staff, "/admin/shop/category/add/"),  # prepopulated slug (urlify.js)
        (staff, "/admin/orders/order/"),
        (staff, f"/admin/orders/order/{order.pk}/change/"),
        (staff, "/admin/accounts/user/"),
    ]:
        url = f"{server.base_url}{path}"
        page.goto(url)
        if path in live_pages:
            # live.js connected (connect-src 'self' covers ws://) and got the resync answer.
            page.wait_until("window.__socketMessages >= 1", what=f"live.js socket on {path}")
        assert_clean(page, url)
    # The admin's own scripts run: the prepopulated slug follows the name.
    staff.goto(f"{server.base_url}/admin/shop/category/add/")
    staff.evaluate(
        "var n = document.getElementById('id_name'); n.value = 'Tea Cups'; n.dispatchEvent(new Event('keyup'))"
    )
    assert staff.evaluate("document.getElementById('id_slug').value") == "tea-cups"


def test_the_api_docs_render_under_their_policy(
    open_page: Callable[..., Page], server: Server, transactional_db
) -> None:
    page = open_page()
    page.goto(f"{server.base_url}/api/docs/")
    page.wait_until("document.querySelector('.swagger-ui .info .title')", what="Swagger UI rendered")
    assert "Tienda API" in page.evaluate("document.querySelector('.swagger-ui .info .title').textContent")
    assert_clean(page, "/api/docs/")


def test_the_browser_blocks_injected_inline_code(
    open_page: Callable[..., Page], server: Server, transactional_db
) -> None:
    # As if an escaping bug let markup through: the policy is the second line of defence.
    page = open_page()
    page.goto(f"{server.base_url}/")
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.pwned=1\">'); "
        "var s = document.createElement('script'); s.textContent = 'window.pwned = 2'; document.body.appendChild(s)"
    )
    page.wait_until("window.__violations.length >= 2", what="CSP violation events")
    assert page.evaluate("window.pwned === undefined")
    assert {entry.split(" ")[0] for entry in page.violations()} <= {"script-src-attr", "script-src-elem"}


def test_live_js_renders_hostile_pushes_as_text(
    open_page: Callable[..., Page], server: Server, goods: SimpleNamespace
) -> None:
    staff = User.objects.create_user(EVIL_STAFF, "x", is_staff=True)
    customer = User.objects.create_user(EVIL_CUSTOMER, "x")
    dashboard, order_page = open_page(staff), open_page(customer)
    dashboard.goto(f"{server.base_url}/staff/orders/")
    dashboard.wait_until("window.__socketMessages >= 1", what="dashboard resync")

    hostile_address = ShippingAddress(full_name="<b>Eve</b>", line1="x", city="y", postal_code="1", country="ES")
    order = order_place(user=customer, lines=[CartLine(str(goods.mug.pk), 1)], address=hostile_address)
    # The new order arrives as a push and live.js builds its row.
    row = f"[data-order-id='{order.pk}']"
    dashboard.wait_until(f'document.querySelector("{row}")', what="pushed row on the dashboard")
    assert dashboard.evaluate(f'document.querySelector("{row} td:nth-child(3)").textContent') == EVIL_CUSTOMER

    order_page.goto(f"{server.base_url}/orders/{order.number}/")
    order_page.wait_until("window.__socketMessages >= 1", what="order page resync")
    order_status_change(order=order, to=OrderStatus.PAID, actor=staff)  # the actor's e-mail is pushed too
    order_page.wait_until("document.querySelector('[data-timeline] [data-seq=\"2\"]')", what="pushed event")
    assert EVIL_STAFF in order_page.evaluate("document.querySelector('[data-timeline] [data-seq=\"2\"]').textContent")
    for page in (dashboard, order_page):
        assert page.evaluate(NO_MARKUP)
        assert page.evaluate("window.pwned === undefined")
        assert_clean(page, "live page")
