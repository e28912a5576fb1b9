"""The cart, checkout and order pages (orders/views.py), through Django's test client."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from orders import cart, services, views
from orders.models import Order, OrderStatus
from orders.services import MAX_LINES, MAX_QUANTITY
from orders.tests.factories import place
from shop.models import Product
from shop.services import product_update

pytestmark = pytest.mark.django_db

CART = "/orders/cart/"


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def add(client: Client, product: Product, quantity: int = 1):
    return client.post("/orders/cart/add/", {"product_id": str(product.pk), "quantity": str(quantity)})


def address_data(**overrides: str) -> dict[str, str]:
    return {
        "full_name": "Ana García", "line1": "Calle Mayor 1", "line2": "", "city": "Madrid",
        "postal_code": "28013", "country": "ES", **overrides,
    }  # fmt: skip


def timeline_seqs(html: str) -> list[int]:
    timeline = html.split("data-timeline", 1)[1].split("</ol>", 1)[0]
    return [int(seq) for seq in re.findall(r'<li data-seq="(\d+)"', timeline)]


def status_shown(html: str) -> str:
    match = re.search(r'data-order-status data-status="(\w+)">([^<]+)<', html)
    assert match, "no element with data-order-status"
    return match.group(1)


# --- Cart -------------------------------------------------------------------------


def test_add_update_and_remove_lines(client: Client, goods: SimpleNamespace) -> None:
    product_page = client.get(f"/p/{goods.mug.slug}/")
    assert 'action="/orders/cart/add/"' in product_page.text
    assert "Cart (0)" in product_page.text

    response = add(client, goods.mug, 2)
    assert response.status_code == 302
    assert response["Location"] == CART
    add(client, goods.teapot)
    page = client.get(CART)
    assert page.status_code == 200
    assert escape(str(views.ADDED_TO_CART % {"name": "Last teapot"})) in page.text
    assert "Mug" in page.text
    assert "Last teapot" in page.text
    assert "€47.00" in page.text  # 2 x 8.50 + 30.00
    assert "Cart (3)" in page.text

    client.post("/orders/cart/update/", {"product_id": str(goods.mug.pk), "quantity": "4"})
    assert [(line.product_id, line.quantity) for line in cart.cart_lines(client.session)] == [
        (str(goods.mug.pk), 4),
        (str(goods.teapot.pk), 1),
    ]
    assert "€64.00" in client.get(CART).text

    client.post("/orders/cart/remove/", {"product_id": str(goods.teapot.pk)})
    client.post("/orders/cart/update/", {"product_id": str(goods.mug.pk), "quantity": "0"})
    assert cart.cart_lines(client.session) == []
    assert "Your cart is empty." in client.get(CART).text


def test_bad_cart_input_is_refused_with_a_message(client: Client, goods: SimpleNamespace) -> None:
    unknown = client.post("/orders/cart/add/", {"product_id": "0" * 24, "quantity": "1"})
    assert unknown.status_code == 404
    assert str(views.NOT_ON_SALE) in unknown.text
    too_many = add(client, goods.mug, MAX_QUANTITY + 1)
    assert too_many.status_code == 400
    assert f"Choose a quantity from 1 to {MAX_QUANTITY}." in too_many.text
    not_an_id = client.post("/orders/cart/add/", {"product_id": "<script>", "quantity": "1"})
    assert not_an_id.status_code == 400
    assert "<script>" not in not_an_id.text
    product_update(product=goods.teapot, stock=0)
    sold_out = add(client, goods.teapot)
    assert sold_out.status_code == 409
    assert escape(str(views.SOLD_OUT % {"name": "Last teapot"})) in sold_out.text
    assert "Add to cart" not in client.get(f"/p/{goods.teapot.slug}/").text
    assert client.get("/orders/cart/add/").status_code == 405
    assert cart.cart_lines(client.session) == []


def test_cart_limits() -> None:
    session: dict[str, object] = {}
    assert cart.cart_add(session, product_id="a" * 24, quantity=60) == 60
    assert cart.cart_add(session, product_id="a" * 24, quantity=60) == MAX_QUANTITY
    for n in range(1, MAX_LINES):
        cart.cart_add(session, product_id=f"{n:024x}", quantity=1)
    with pytest.raises(cart.CartFull):
        cart.cart_add(session, product_id="b" * 24, quantity=1)
    assert cart.cart_count(session) == MAX_QUANTITY + MAX_LINES - 1
    session[cart.SESSION_KEY] = {"lines": {"junk": 3, "c" * 24: 0, "d" * 24: "2", "e" * 24: 2}}
    assert cart.cart_lines(session) == [cart.CartLine(product_id="e" * 24, quantity=2)]


def test_the_cart_survives_login(client: Client, people: SimpleNamespace, goods: SimpleNamespace) -> None:
    add(client, goods.mug, 3)
    response = client.post("/account/login/", {"username": "ana@example.com", "password": "x"})
    assert response.status_code == 302
    assert client.get("/account/").wsgi_request.user == people.ana
    assert cart.cart_lines(client.session) == [cart.CartLine(product_id=str(goods.mug.pk), quantity=3)]


def test_products_no_longer_on_sale_are_noted_and_left_out_of_checkout(
    client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    client.force_login(people.ana)
    add(client, goods.mug)
    add(client, goods.teapot)
    product_update(product=goods.teapot, is_active=False)
    page = client.get(CART)
    assert "This product is no longer for sale" in page.text
    assert "€8.50" in page.text
    assert 'href="/orders/checkout/"' in page.text

    response = client.post("/orders/checkout/", address_data())
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.number}/"
    assert [line.sku for line in order.lines] == ["MUG-1"]
    assert stock(goods.teapot) == 5


# --- Checkout ---------------------------------------------------------------------


def test_checkout_places_the_order_and_empties_the_cart(
    client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    client.force_login(people.ana)
    add(client, goods.mug, 2)
    add(client, goods.teapot, 1)
    form = client.get("/orders/checkout/")
    assert form.status_code == 200
    assert '<option value="ES" selected>' in form.text

    response = client.post("/orders/checkout/", address_data(country="PT"))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.number}/"
    assert order.user == people.ana
    assert order.status == OrderStatus.PENDING
    assert sorted((line.name, line.sku, line.unit_price, line.quantity) for line in order.lines) == [
        ("Last teapot", "TEA-1", Decimal("30.00"), 1),
        ("Mug", "MUG-1", Decimal("8.50"), 2),
    ]
    assert (order.address.city, order.address.country) == ("Madrid", "PT")
    assert (stock(goods.mug), stock(goods.teapot)) == (38, 4)
    assert cart.cart_lines(client.session) == []
    page = client.get(response["Location"])
    assert escape(str(views.ORDER_PLACED % {"number": order.number})) in page.text
    assert "Cart (0)" in page.text


def test_out_of_stock_checkout_shows_why_keeps_the_cart_and_takes_nothing(
    client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    client.force_login(people.ana)
    add(client, goods.mug, 2)
    add(client, goods.teapot, 6)

    response = client.post("/orders/checkout/", address_data())

    assert response.status_code == 409
    assert escape("Only 5 of “Last teapot” left: lower the quantity and try again.") in response.text
    assert 'value="Calle Mayor 1"' in response.text  # the address is not lost
    assert len(cart.cart_lines(client.session)) == 2
    assert (stock(goods.mug), stock(goods.teapot)) == (40, 5)
    assert not Order.objects.exists()


def test_a_shopper_with_too_many_unpaid_orders_is_told_why_in_their_language(
    client: Client, people: SimpleNamespace, goods: SimpleNamespace, settings
) -> None:
    settings.MAX_PENDING_ORDERS_PER_USER = 2
    place(people.ana, (goods.mug.pk, 1))
    place(people.ana, (goods.mug.pk, 1))
    client.force_login(people.ana)
    add(client, goods.teapot, 1)

    response = client.post("/orders/checkout/", address_data())
    assert response.status_code == 409
    assert "You already have 2 orders waiting for payment." in response.text
    client.cookies["django_language"] = "es"
    spanish = client.post("/orders/checkout/", address_data())
    assert spanish.status_code == 409
    assert "Ya tienes 2 pedidos pendientes de pago." in spanish.text
    assert len(cart.cart_lines(client.session)) == 1  # the cart is kept
    assert (stock(goods.mug), stock(goods.teapot), Order.objects.count()) == (38, 5, 2)


def test_checkout_refuses_an_empty_cart_and_a_bad_address(client: Client, people: SimpleNamespace) -> None:
    client.force_login(people.ana)
    assert client.get("/orders/checkout/")["Location"] == CART
    empty = client.post("/orders/checkout/", address_data())
    assert empty.status_code == 400
    assert str(views.CART_EMPTY) in empty.text
    bad = client.post("/orders/checkout/", address_data(country="US", city=""))
    assert bad.status_code == 400
    assert "We only ship to the countries in the list." in bad.text
    assert not Order.objects.exists()


def test_anonymous_checkout_goes_to_login_and_keeps_the_cart(client: Client, goods: SimpleNamespace) -> None:
    add(client, goods.mug)
    for response in (client.get("/orders/checkout/"), client.post("/orders/checkout/", address_data())):
        assert response.status_code == 302
        assert response["Location"] == "/account/login/?next=/orders/checkout/"
    assert len(cart.cart_lines(client.session)) == 1
    assert not Order.objects.exists()


# --- Order pages ------------------------------------------------------------------


def test_an_order_is_shown_to_its_owner_and_staff_only(client: Client, people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 2))
    url = f"/orders/{order.number}/"

    client.force_login(people.ana)
    page = client.get(url)
    assert page.status_code == 200
    assert order.number in page.text
    assert "MUG-1" in page.text
    assert "€17.00" in page.text
    assert status_shown(page.text) == "pending"
    assert f'data-live-url="/ws/orders/{order.pk}/"' in page.text
    assert 'data-seq="1"' in page.text
    assert timeline_seqs(page.text) == [1]
    assert "Pay now" in page.text

    client.force_login(people.staff)
    staff_page = client.get(url)
    assert staff_page.status_code == 200
    assert "ana@example.com" in staff_page.text
    assert "Pay now" not in staff_page.text  # staff see the order; paying is the customer's
    assert client.post(f"{url}pay/").status_code == 403

    client.force_login(people.bob)
    assert client.get(url).status_code == 404
    assert client.post(f"{url}cancel/").status_code == 404
    assert client.get("/orders/T000000-NOPE00/").status_code == 404
    assert Order.objects.get().status == OrderStatus.PENDING


def test_pay_then_cancel_through_the_buttons(client: Client, people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.teapot.pk, 2))
    client.force_login(people.ana)
    url = f"/orders/{order.number}/"
    assert stock(goods.teapot) == 3

    paid = client.post(f"{url}pay/", follow=True)
    assert paid.redirect_chain == [(url, 302)]
    assert status_shown(paid.text) == "paid"
    assert ">Paid<" in paid.text
    assert timeline_seqs(paid.text) == [1, 2]
    assert escape(str(views.ORDER_PAID % {"number": order.number})) in paid.text

    cancelled = client.post(f"{url}cancel/", follow=True)
    assert status_shown(cancelled.text) == "cancelled"
    assert timeline_seqs(cancelled.text) == [1, 2, 3]
    stored = Order.objects.get()
    assert [(e.from_status, e.to_status, e.actor_email) for e in stored.events][1:] == [
        ("pending", "paid", "ana@example.com"),
        ("paid", "cancelled", "ana@example.com"),
    ]
    assert stock(goods.teapot) == 5


def test_paying_twice_says_why_with_409(client: Client, people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    client.force_login(people.ana)
    assert client.post(f"/orders/{order.number}/pay/").status_code == 302

    again = client.post(f"/orders/{order.number}/pay/")

    assert again.status_code == 409
    assert escape(f"Order {order.number} is Paid; it cannot become Paid.") in again.text
    assert status_shown(again.text) == "paid"
    assert Order.objects.get().seq == 2
    assert client.get(f"/orders/{order.number}/pay/").status_code == 405


def test_html_in_an_address_is_escaped(client: Client, people: SimpleNamespace, goods: SimpleNamespace) -> None:
    client.force_login(people.ana)
    add(client, goods.mug)
    evil = '<script>alert("x")</script>'
    response = client.post("/orders/checkout/", address_data(full_name=evil, line2="<b>2º</b>"), follow=True)
    assert response.status_code == 200
    assert evil not in response.text
    assert "<b>2º</b>" not in response.text
    assert escape(evil) in response.text


# --- Lists ------------------------------------------------------------------------


def test_the_order_list_shows_only_the_shoppers_orders(client: Client, people: SimpleNamespace, goods) -> None:
    mine = place(people.ana, (goods.mug.pk, 1))
    theirs = place(people.bob, (goods.mug.pk, 1))
    client.force_login(people.ana)
    page = client.get("/orders/")
    assert page.status_code == 200
    assert 'data-live-url="/ws/orders/"' in page.text
    assert f'href="/orders/{mine.number}/"' in page.text
    assert f'data-order-id="{mine.pk}"' in page.text
    # live.js keeps a row's newest state by this seq: pushes from two requests can arrive swapped.
    assert re.search(rf'data-order-id="{mine.pk}"[^>]* data-seq="1"', page.text)
    assert theirs.number not in page.text
    assert "Pending payment" in page.text
    client.logout()
    assert client.get("/orders/")["Location"] == "/account/login/?next=/orders/"


def test_the_staff_dashboard_lists_every_customer_and_filters(client: Client, people: SimpleNamespace, goods) -> None:
    first = place(people.ana, (goods.mug.pk, 1))
    second = place(people.bob, (goods.mug.pk, 1))
    client.force_login(people.staff)
    page = client.get("/staff/orders/")
    assert page.status_code == 200
    assert 'data-live-url="/ws/staff/orders/"' in page.text
    assert "ana@example.com" in page.text
    assert "bob@example.com" in page.text
    assert page.text.index(second.number) < page.text.index(first.number)  # newest first
    assert 'href="/staff/orders/"' in page.text  # the header link

    client.force_login(people.ana)
    client.post(f"/orders/{first.number}/pay/")
    client.force_login(people.staff)
    paid_only = client.get("/staff/orders/?status=paid")
    assert first.number in paid_only.text
    assert second.number not in paid_only.text
    assert 'data-status-filter="paid"' in paid_only.text
    assert client.get("/staff/orders/?status=bogus").status_code == 400


def test_the_dashboard_is_for_staff_only(client: Client, people: SimpleNamespace) -> None:
    assert client.get("/staff/orders/")["Location"] == "/account/login/?next=/staff/orders/"
    client.force_login(people.ana)
    forbidden = client.get("/staff/orders/")
    assert forbidden.status_code == 403
    assert "Orders dashboard" not in client.get("/orders/").text


def test_order_pages_speak_spanish(client: Client, people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    client.force_login(people.ana)
    page = client.get(f"/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="es")
    assert '<html lang="es">' in page.text
    assert ">Pendiente de pago<" in page.text
    assert "Pagar ahora" in page.text
    assert "Carrito (0)" in page.text
    assert '"pending": "Pendiente de pago"' in page.text  # the labels live.js names timeline entries with


# --- The payment window -----------------------------------------------------------


def pay_by_shown(html: str) -> str:
    match = re.search(r'<time datetime="([^"]+)" data-format="time">', html)
    assert match, "no Pay by time"
    return match.group(1)


def test_pending_orders_show_pay_by_on_the_page_the_list_and_the_dashboard(
    client: Client, people: SimpleNamespace, goods
) -> None:
    order = Order.objects.get(pk=place(people.ana, (goods.mug.pk, 1)).pk)
    client.force_login(people.ana)
    for url in (f"/orders/{order.number}/", "/orders/"):
        page = client.get(url)
        assert "Pay by" in page.text
        assert datetime.fromisoformat(pay_by_shown(page.text)) == order.pay_by
        assert f">{order.pay_by:%H:%M}</time>" in page.text  # HH:MM in UTC, until live.js shows local time
    client.force_login(people.staff)
    assert datetime.fromisoformat(pay_by_shown(client.get("/staff/orders/").text)) == order.pay_by

    services.order_pay(order=order, actor=people.ana)
    client.force_login(people.ana)
    for url in (f"/orders/{order.number}/", "/orders/"):
        assert 'data-format="time"' not in client.get(url).text  # paid: no deadline shown


def test_paying_after_the_deadline_shows_why_and_the_cancelled_order(
    client: Client, people: SimpleNamespace, goods
) -> None:
    order = place(people.ana, (goods.teapot.pk, 2))
    Order.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    client.force_login(people.ana)

    late = client.post(f"/orders/{order.number}/pay/")

    assert late.status_code == 409
    assert escape(str(services.PAYMENT_EXPIRED) % {"number": order.number}) in late.text
    assert status_shown(late.text) == "cancelled"
    assert "Pending payment → <strong>Cancelled</strong>: " in late.text
    assert '<span class="timeline-reason">payment not received in time</span>' in late.text
    assert "by system" in late.text
    assert stock(goods.teapot) == 5

    spanish = client.get(f"/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="es")
    assert '<span class="timeline-reason">pago no recibido a tiempo</span>' in spanish.text
    assert '"payment_expired": "pago no recibido a tiempo"' in spanish.text  # for live.js
    late_es = client.post(f"/orders/{order.number}/pay/", HTTP_ACCEPT_LANGUAGE="es")
    assert late_es.status_code == 409
    assert "Cancelado" in late_es.text
