"""A shopper, an admin and a member of staff, each in their own real Chromium, against the
running application (`app`: make run's launcher on free ports, DEBUG off).

Each journey prints its duration; a failing one leaves screenshots of every open page under
docs/screenshots/failures/ and names them in the failure message.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.app import App
from tests.e2e.browser import (
    SCREENSHOTS,
    VIEWPORT,
    SocketWatch,
    admin_login,
    assert_not_reloaded,
    journey,
    mark_no_reload,
    new_context,
    note_when_text,
    seconds_until_text,
    site_login,
)

pytestmark = pytest.mark.slow

LIVE_DEADLINE_MS = 2_000  # the promise: an admin's change shows on open pages within 2 s
ORDER_URL = re.compile(r"/orders/([A-Z0-9-]+)/$")


@pytest.fixture(scope="module")
def staff_state(app: App, browser: Browser) -> dict:
    """A logged-in staff member's cookies (the demo superuser), so later contexts skip the ~1 s password hash."""
    context = new_context(browser, app.base_url)
    site_login(context.new_page(), app.admin_email, app.password)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def person(app: App, open_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """Opens a page in a fresh browser context (one per person); all are closed after the test."""
    return lambda storage_state=None: open_context(app.base_url, storage_state).new_page()


def _price(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text))


def _sign_up(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Ada Shopper")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)
    page.locator("main").get_by_role("button", name="Sign up").click()


def _place_order(page: Page) -> str:
    """From the checkout page: fill the address and place the order; returns the order number."""
    page.get_by_label("Full name").fill("Ada Shopper")
    page.get_by_label("Address", exact=True).fill("Calle Mayor 1")
    page.get_by_label("Postal code").fill("28013")
    page.get_by_label("City").fill("Madrid")
    page.get_by_label("Country").select_option("ES")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(ORDER_URL)
    expect(page.locator("[data-order-status]")).to_have_text("Pending payment")
    match = ORDER_URL.search(page.url)
    assert match, page.url
    return match[1]


def _pay(page: Page) -> None:
    page.get_by_role("button", name="Pay now").click()
    expect(page.locator("[data-order-status]")).to_have_text("Paid")


def test_shopper_buys_admin_ships_and_open_pages_update_live(
    app: App, browser: Browser, person: Callable[..., Page], staff_state: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    shopper = person()
    staff = person(staff_state)
    admin = person()
    with journey("shopper buys, admin ships, open pages update live", browser, capsys) as measured:
        # Staff watch the dashboard from before the order exists.
        dashboard = SocketWatch(staff)
        dashboard.open("/staff/orders/", "/ws/staff/orders/")
        mark_no_reload(staff)

        # Browse a category, filter it, search, open a product.
        shopper.goto("/")
        shopper.locator(".category-grid").get_by_role("link", name="Clothing", exact=True).click()
        expect(shopper.locator("h1")).to_have_text("Clothing")
        unfiltered = int(shopper.locator(".result-count").inner_text().split()[0])
        shopper.get_by_label("Maximum").fill("100")
        shopper.get_by_label("In stock only").check()
        shopper.get_by_role("button", name="Apply").click()
        expect(shopper).to_have_url(re.compile(r"max_price=100.*in_stock=1|in_stock=1.*max_price=100"))
        cards = shopper.locator(".product-grid .card")
        filtered = int(shopper.locator(".result-count").inner_text().split()[0])
        assert 0 < filtered < unfiltered
        assert cards.count() == filtered
        assert all(_price(text) <= 100 for text in cards.locator(".price").all_inner_texts())
        expect(cards.get_by_text("Out of stock")).to_have_count(0)

        shopper.locator(".site-search").get_by_label("Search products").fill("shirt")
        shopper.locator(".site-search").get_by_role("button", name="Search").click()
        expect(shopper.locator("h1")).to_contain_text("shirt")
        in_stock = shopper.locator(".product-grid .card").filter(has_text="In stock")
        product_name = in_stock.first.locator(".card-title").inner_text()
        assert "shirt" in product_name.lower()
        in_stock.first.locator(".card-link").click()
        expect(shopper.locator("h1")).to_have_text(product_name)

        # Add to cart, check out: the checkout asks a visitor to log in, who signs up instead.
        shopper.get_by_label("Quantity").fill("2")
        shopper.get_by_role("button", name="Add to cart").click()
        expect(shopper).to_have_url(re.compile(r"/orders/cart/$"))
        expect(shopper.locator(".cart-table tbody tr")).to_have_count(1)
        expect(shopper.locator(".cart-table tbody")).to_contain_text(product_name)
        expect(shopper.locator("[data-cart-link]")).to_have_text("Cart (2)")
        shopper.get_by_role("link", name="Check out").click()
        expect(shopper).to_have_url(re.compile(r"/account/login/\?next="))
        shopper.get_by_role("link", name="Create an account").click()
        _sign_up(shopper, f"ada-{uuid.uuid4().hex[:10]}@example.com", "Pl3nty-of-entropy!")
        expect(shopper.locator("h1")).to_have_text("Checkout")
        watch = SocketWatch(shopper)
        number = _place_order(shopper)

        # The dashboard shows the new order with its payment deadline, then its payment, without reloading.
        row = staff.locator(f'tr:has(a:text-is("{number}"))')
        expect(row.locator("[data-order-status]")).to_have_text("Pending payment")
        expect(row.get_by_role("link", name=number)).to_have_attribute("href", f"/orders/{number}/")
        deadline = shopper.locator(".order-facts time[data-format=time]")
        expect(deadline).to_be_visible()
        expect(deadline).to_have_text(re.compile(r"\d{1,2}:\d{2}"))  # in the browser's time zone and language
        expect(row.locator(".pay-by time")).to_have_attribute("datetime", deadline.get_attribute("datetime") or "")
        _pay(shopper)
        expect(row.locator("[data-order-status]")).to_have_text("Paid")
        expect(row.locator(".pay-by")).to_be_hidden()  # paid: no deadline any more
        expect(deadline).to_be_hidden()
        assert_not_reloaded(staff)

        # The shopper keeps the order page open; the admin ships the order from Django admin.
        order_id = shopper.locator("[data-order-id]").get_attribute("data-order-id")
        watch.answered(f"/ws/orders/{order_id}/")
        mark_no_reload(shopper)
        timeline = shopper.locator("[data-timeline] li")
        expect(timeline).to_have_count(2)

        admin_login(admin, app.admin_email, app.password)
        admin.goto(f"/admin/orders/order/?q={number}")
        admin.get_by_role("link", name=number, exact=True).click()
        admin.locator("#id_status").select_option("shipped")
        watched = {
            "shopper's status": (shopper, "[data-order-status]", "Shipped"),
            "shopper's timeline": (shopper, '[data-timeline] li[data-seq="3"] strong', "Shipped"),
            "dashboard row": (staff, f'tr[data-order-id="{order_id}"] [data-order-status]', "Shipped"),
        }
        for page, selector, text in watched.values():
            note_when_text(page, selector, text)
        clicked = time.time()
        admin.locator("input[name=_save]").click()

        expect(shopper.locator("[data-order-status]")).to_have_text("Shipped", timeout=LIVE_DEADLINE_MS)
        expect(timeline).to_have_count(3, timeout=LIVE_DEADLINE_MS)
        expect(timeline.last).to_contain_text("Paid → Shipped")
        expect(timeline.last).to_contain_text(f"by {app.admin_email}")
        expect(row.locator("[data-order-status]")).to_have_text("Shipped", timeout=LIVE_DEADLINE_MS)
        for what, (page, selector, text) in watched.items():
            seconds = seconds_until_text(page, selector, text, since=clicked)
            measured.mark(f"admin save → {what}", seconds)
            assert seconds <= LIVE_DEADLINE_MS / 1000, f"{what} showed the change after {seconds:.2f} s"
        assert_not_reloaded(shopper)
        assert_not_reloaded(staff)
        # The cancel button went away with the status, without a reload either.
        expect(shopper.get_by_role("button", name="Cancel order")).to_be_hidden()

        expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")


def test_blocked_shopper_is_signed_out_and_their_socket_closes(
    app: App, browser: Browser, person: Callable[..., Page], staff_state: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    shopper = person()
    admin = person(staff_state)
    email = f"blocked-{uuid.uuid4().hex[:10]}@example.com"
    with journey("admin blocks a shopper with a live page open", browser, capsys) as measured:
        shopper.goto("/account/signup/")
        _sign_up(shopper, email, "Pl3nty-of-entropy!")
        expect(shopper.locator(".site-nav")).to_contain_text("Log out")
        watch = SocketWatch(shopper)
        socket = watch.open("/orders/", "/ws/orders/")
        mark_no_reload(shopper)
        expect(shopper.get_by_text("You have no orders yet.")).to_be_visible()
        expect(shopper.locator("[data-orders-table]")).to_be_hidden()

        admin.goto(f"/admin/accounts/user/?q={email}")
        admin.locator("input.action-select").check()
        admin.locator("select[name=action]").select_option("block_users")
        clicked = time.monotonic()
        admin.get_by_role("button", name="Go").click()
        expect(admin.locator(".messagelist")).to_contain_text("1 user blocked")

        watch.wait_until(lambda: socket.closed_at is not None, "the blocked shopper's socket to close")
        measured.mark("admin block → socket closed", socket.closed_at - clicked)
        expect(shopper.locator("[data-live-status]")).to_have_text("Live updates are off: log in again.")
        assert_not_reloaded(shopper)
        shopper.wait_for_timeout(700)  # live.js would retry within 0.25-0.5 s if it meant to
        assert len(watch.sockets) == 1, "live.js reconnected after being told the account is blocked"

        # The next page load is signed out: the order list sends them to the login page.
        shopper.reload()
        expect(shopper).to_have_url(re.compile(r"/account/login/\?next=/orders/"))
        expect(shopper.locator(".site-nav").get_by_role("link", name="Log in")).to_be_visible()
        expect(shopper.locator(".site-nav")).not_to_contain_text("Log out")


ANALYTICS_ADDRESS = {
    "full_name": "Ana García",
    "line1": "Calle Mayor 1",
    "city": "Madrid",
    "postal_code": "28013",
    "country": "ES",
}


def _chart_total(page: Page, chart: str, dataset: int) -> float:
    """The sum of one dataset of a Chart.js chart on the page, as drawn."""
    return page.evaluate(
        '([name, index]) => Chart.getChart(document.querySelector(`[data-chart="${name}"]`))'
        ".data.datasets[index].data.reduce((a, b) => a + b, 0)",
        [chart, dataset],
    )


def test_analytics_dashboard_follows_a_checkout_and_a_payment_live(
    app: App, browser: Browser, person: Callable[..., Page], staff_state: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = person(staff_state)
    with (
        journey("analytics dashboard follows an API checkout and payment live", browser, capsys),
        httpx.Client(base_url=app.base_url, timeout=30, trust_env=False) as http,
    ):
        SocketWatch(staff).open("/staff/analytics/", "/ws/staff/analytics/")
        root = staff.locator("[data-live-url]")
        expect(root).not_to_have_attribute("data-snapshots", "0")
        mark_no_reload(staff)
        revenue_before = staff.locator('[data-figure="revenue"]').inner_text()
        paid_before = int(staff.locator('[data-figure="paid"]').inner_text())
        orders_charted = _chart_total(staff, "per-minute", 0)
        revenue_charted = _chart_total(staff, "per-minute", 1)

        token = http.post("/api/auth/token/", json={"email": app.shopper_email, "password": app.password})
        auth = {"Authorization": f"Bearer {token.json()['access']}"}
        product = http.get("/api/products/", params={"in_stock": "1", "sort": "-price"}).json()["results"][0]
        placed = http.post("/api/orders/", headers=auth, json={
            "lines": [{"product_id": product["id"], "quantity": 1}], "address": ANALYTICS_ADDRESS,
        })  # fmt: skip
        assert placed.status_code == 201, placed.text
        expect(staff.locator('[data-figure="revenue"]')).not_to_have_text(revenue_before, timeout=10_000)
        staff.wait_for_function(
            "([orders, revenue]) => { const c = Chart.getChart(document.querySelector('[data-chart=\"per-minute\"]'));"
            " const sum = (i) => c.data.datasets[i].data.reduce((a, b) => a + b, 0);"
            " return sum(0) > orders && sum(1) > revenue; }",
            arg=[orders_charted, revenue_charted],
            timeout=10_000,
        )
        paid = http.post(f"/api/orders/{placed.json()['id']}/pay/", headers=auth)
        assert paid.status_code == 200, paid.text
        expect(staff.locator('[data-figure="paid"]')).to_have_text(str(paid_before + 1), timeout=10_000)
        assert_not_reloaded(staff)


def test_readme_screenshots(
    app: App,
    browser: Browser,
    person: Callable[..., Page],
    staff_state: dict,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The README's pictures, captured from the running app: home, listing, product, cart, order,
    dashboard, and the job queues' page in admin.

    They go to docs/screenshots/ only with UPDATE_SCREENSHOTS=1 (`make screenshots`): order
    numbers and times differ on every run, and a test run should not leave the tree modified.
    """
    target = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    shopper = person()
    staff = person(staff_state)
    shots: list[Path] = []

    def capture(page: Page, name: str, *, full_page: bool = True) -> None:
        path = target / f"{name}.png"
        page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
        shots.append(path)

    with journey("README screenshots", browser, capsys):
        target.mkdir(parents=True, exist_ok=True)
        shopper.goto("/account/signup/")
        _sign_up(shopper, f"ana-{uuid.uuid4().hex[:10]}@example.com", "Pl3nty-of-entropy!")
        shopper.goto("/")
        capture(shopper, "home")
        shopper.goto("/c/clothing/")
        capture(shopper, "listing")
        for position in (1, 0):  # two products in the cart; the README shows the second one's page
            shopper.goto("/c/clothing/?in_stock=1")
            shopper.locator(".product-grid .card-link").nth(position).click()
            expect(shopper.get_by_role("button", name="Add to cart")).to_be_visible()
            if position == 0:
                capture(shopper, "product")
            shopper.get_by_role("button", name="Add to cart").click()
            expect(shopper).to_have_url(re.compile(r"/orders/cart/$"))
        expect(shopper.locator(".cart-table tbody tr")).to_have_count(2)
        capture(shopper, "cart")
        shopper.get_by_role("link", name="Check out").click()
        _place_order(shopper)
        _pay(shopper)
        capture(shopper, "order")
        SocketWatch(staff).open("/staff/orders/", "/ws/staff/orders/")
        capture(staff, "dashboard", full_page=False)
        staff.goto("/staff/analytics/")
        expect(staff.locator("[data-live-url]")).not_to_have_attribute("data-snapshots", "0")  # charts drawn
        capture(staff, "analytics")
        staff.goto("/admin/django_rq/dashboard/")
        expect(staff.get_by_role("link", name="email", exact=True)).to_be_visible()  # the queues, with the worker's
        capture(staff, "queues", full_page=False)

        for path in shots:  # each a real PNG at the viewport's width
            header = path.read_bytes()[:24]
            assert header[:8] == b"\x89PNG\r\n\x1a\n", path
            assert int.from_bytes(header[16:20], "big") == VIEWPORT["width"], path
