"""Stored and reflected XSS: HTML in product names and descriptions, addresses, names, e-mails and
user agents is shown as text on every page that shows it (escaped, never markup).

The live pages' pushes are rendered by static/js/live.js with textContent (tests/security/
test_headers.py keeps it free of HTML-parsing calls; test_browser.py watches it in Chromium).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils.html import escape

from accounts import services as account_services
from accounts.models import User
from orders.models import ShippingAddress
from orders.services import CartLine, order_place
from shop import services as shop_services
from tests.security.helpers import signed_in

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SVG = "<svg/onload=alert(1)>"
# A valid e-mail address: a quoted local part may hold < > / = ( ) (RFC 5321; Django accepts it).
EVIL_EMAIL = '"<img/src=x/onerror=alert(1)>"@example.com'
PAYLOADS = (SCRIPT, BREAKOUT, SVG, "<img/src=x/onerror=alert(1)>")


def assert_escaped(html: str, *shown: str) -> None:
    """No payload appears as markup; each of ``shown`` appears, escaped."""
    for payload in PAYLOADS:
        assert payload not in html
    for text in shown:
        assert escape(text) in html, text


@pytest.fixture
def hostile(people: SimpleNamespace) -> SimpleNamespace:
    """A product, a customer and an order whose every free-text field is an XSS payload."""
    category = shop_services.category_create(name=f"Mugs {SVG}", slug="mugs")
    product = shop_services.product_create(
        category=category, name=f"Mug {SCRIPT}", sku="XSS-1", price=Decimal("5.00"), stock=10,
        description=f"Nice {BREAKOUT}", attributes={"colour": SVG}, tags=[SCRIPT],
    )  # fmt: skip
    customer = User.objects.create_user(EVIL_EMAIL, "x", full_name=f"Eve {BREAKOUT}")
    address = ShippingAddress(
        full_name=f"Eve {SCRIPT}", line1=BREAKOUT, line2=SVG, city=SCRIPT, postal_code="28013", country="ES"
    )
    order = order_place(user=customer, lines=[CartLine(str(product.pk), 1)], address=address)
    account_services.token_pair_issue(user=customer, user_agent=f"curl {SCRIPT}", ip="127.0.0.1")
    return SimpleNamespace(category=category, product=product, customer=customer, order=order)


def assert_pages_escape(client: Client, pages: list[tuple[str, list[str]]]) -> None:
    """Each page answers 200 and shows its ``shown`` texts escaped, and no payload as markup."""
    for path, shown in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_escaped(response.text, *shown)


def test_catalog_pages_escape_product_fields(client: Client, hostile: SimpleNamespace) -> None:
    product = hostile.product
    assert_pages_escape(
        client,
        [
            ("/", [product.name]),
            ("/c/mugs/", [product.name, hostile.category.name]),
            ("/search/?q=mug", [product.name]),
            (f"/p/{product.slug}/", [product.name, product.description, SVG, hostile.category.name]),
        ],
    )


def test_reflected_input_is_escaped(client: Client, hostile: SimpleNamespace) -> None:
    for path in (
        f"/search/?q={SCRIPT}",
        f"/c/mugs/?min_price={SCRIPT}&attr_colour={BREAKOUT}",  # the 400 page repeats the form
        f"/account/login/?next={BREAKOUT}",
        f"/no-such-page/{SCRIPT}",
    ):
        response = client.get(path)
        assert response.status_code in (200, 400, 404), path
        assert_escaped(response.text)


def test_cart_checkout_and_order_pages_escape_names_and_addresses(hostile: SimpleNamespace) -> None:
    eve = signed_in(hostile.customer)
    eve.post("/orders/cart/add/", {"product_id": str(hostile.product.pk), "quantity": 1})
    assert_pages_escape(
        eve,
        [
            ("/orders/cart/", [hostile.product.name]),
            ("/orders/checkout/", [hostile.product.name]),
            (f"/orders/{hostile.order.number}/", [hostile.product.name, f"Eve {SCRIPT}", BREAKOUT, SVG]),
            ("/orders/", [hostile.order.number]),
            ("/account/", [EVIL_EMAIL]),
            ("/account/sessions/", [f"curl {SCRIPT}"]),
        ],
    )


def test_staff_dashboard_and_admin_escape_customer_data(people: SimpleNamespace, hostile: SimpleNamespace) -> None:
    people.staff.is_superuser = True
    people.staff.save()
    staff = signed_in(people.staff)
    order, product = hostile.order, hostile.product
    assert_pages_escape(
        staff,
        [
            ("/staff/orders/", [EVIL_EMAIL]),
            (f"/orders/{order.number}/", [f"Eve {SCRIPT}", BREAKOUT]),
            ("/admin/shop/product/", [product.name]),
            (f"/admin/shop/product/{product.pk}/change/", [product.name, product.description]),
            ("/admin/shop/category/", [hostile.category.name]),
            ("/admin/orders/order/", [EVIL_EMAIL]),
            (f"/admin/orders/order/{order.pk}/change/", [EVIL_EMAIL, f"Eve {SCRIPT}", product.name]),
            ("/admin/accounts/user/", [EVIL_EMAIL]),
            (f"/admin/accounts/user/{hostile.customer.pk}/change/", [hostile.customer.full_name]),
        ],
    )


def test_api_answers_are_json_never_html(client: Client, hostile: SimpleNamespace) -> None:
    for path in (
        f"/api/products/{hostile.product.pk}/",
        "/api/products/?q=mug",
        f"/api/products/{SVG.replace('/', ' ')}/",
    ):
        response = client.get(path)
        assert response["Content-Type"] == "application/json", path
        assert response["X-Content-Type-Options"] == "nosniff"
