"""Placing orders and the state machine, against MongoDB over the wire."""

from __future__ import annotations

import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client

from orders import services
from orders.models import Order, OrderStatus
from orders.services import CartLine, IllegalTransition, OutOfStock, TooManyPendingOrders
from orders.tests.factories import address, place
from shop.models import Product
from tests.concurrency import all_at_once


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_placing_copies_lines_and_takes_stock(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 1), (goods.mug.pk, 1))
    stored = Order.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.PENDING
    assert stored.total == Decimal("55.50")
    assert sorted((line.sku, line.name, line.unit_price, line.quantity) for line in stored.lines) == [
        ("MUG-1", "Mug", Decimal("8.50"), 3),
        ("TEA-1", "Last teapot", Decimal("30.00"), 1),
    ]
    assert [(e.seq, e.from_status, e.to_status, e.actor_email) for e in stored.events] == [
        (1, "", "pending", "ana@example.com")
    ]
    assert (stock(goods.mug), stock(goods.teapot)) == (37, 4)
    # Prices at purchase time stay, whatever the catalog does later.
    Product.objects.filter(pk=goods.mug.pk).update(price=Decimal("99"), name="Renamed")
    assert Order.objects.get(pk=order.pk).lines[0].unit_price in (Decimal("8.50"), Decimal("30.00"))


def test_a_line_that_cannot_be_served_puts_back_what_was_taken(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    with pytest.raises(OutOfStock, match="Only 5 of “Last teapot” left"):
        place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 6))
    assert (stock(goods.mug), stock(goods.teapot)) == (40, 5)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "Your cart is empty"),
        ([CartLine("not-an-id", 1)], "is not a product id"),
        ([CartLine("0" * 24, 1)], "no longer for sale"),
        ([CartLine("MUG", 0)], None),
    ],
)
def test_bad_carts_are_refused_with_a_message(people, goods, lines, message) -> None:
    lines = [CartLine(str(goods.mug.pk), 0)] if message is None else lines
    with pytest.raises(services.OrderError) as error:
        services.order_place(user=people.ana, lines=lines, address=address())
    assert (message or "Quantities must be from 1 to 99") in error.value.message
    assert stock(goods.mug) == 40


def test_the_state_machine(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    with pytest.raises(IllegalTransition, match="cannot become Shipped"):
        services.order_status_change(order=order, to=OrderStatus.SHIPPED, actor=people.staff)
    with pytest.raises(IllegalTransition, match="is not an order status"):
        services.order_status_change(order=order, to="lost", actor=people.staff)
    order = services.order_pay(order=order, actor=people.ana)
    order = services.order_status_change(order=order, to=OrderStatus.SHIPPED, actor=people.staff)
    with pytest.raises(IllegalTransition, match="Shipped; it cannot become Cancelled"):
        services.order_cancel(order=order, actor=people.ana)
    order = services.order_status_change(order=order, to=OrderStatus.DELIVERED, actor=people.staff)
    stored = Order.objects.get(pk=order.pk)
    assert [(e.seq, e.from_status, e.to_status, e.actor_email) for e in stored.events] == [
        (1, "", "pending", "ana@example.com"),
        (2, "pending", "paid", "ana@example.com"),
        (3, "paid", "shipped", "staff@example.com"),
        (4, "shipped", "delivered", "staff@example.com"),
    ]
    assert stored.seq == 4


def test_cancelling_restocks_exactly_once(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.teapot.pk, 3))
    assert stock(goods.teapot) == 2
    services.order_cancel(order=order, actor=people.ana)
    assert stock(goods.teapot) == 5
    with pytest.raises(IllegalTransition):
        services.order_cancel(order=order, actor=people.ana)  # a stale copy of the order
    assert stock(goods.teapot) == 5


def test_cancelling_a_sold_out_product_back_into_stock_refreshes_the_shops_cached_lists(
    people: SimpleNamespace, goods: SimpleNamespace, client: Client
) -> None:
    def in_stock_names() -> list[str]:
        listed = client.get("/api/products/", {"category": "mugs", "in_stock": "1"}).json()["results"]
        return [row["name"] for row in listed]

    order = place(people.ana, (goods.teapot.pk, 5))  # 5 -> 0
    for _ in range(2):  # the second answers come from the cache
        assert "Out of stock" in client.get("/c/mugs/").text
        assert in_stock_names() == ["Mug"]

    services.order_cancel(order=order, actor=people.ana)  # 0 -> 5

    assert "Out of stock" not in client.get("/c/mugs/").text
    assert sorted(in_stock_names()) == ["Last teapot", "Mug"]


def test_concurrent_changes_cannot_both_win(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.teapot.pk, 1))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def change(to: str) -> None:
        barrier.wait()
        try:
            services.order_status_change(order=Order.objects.get(pk=order.pk), to=to, actor=people.staff)
            outcomes.append(to)
        except IllegalTransition:
            outcomes.append("refused")

    threads = [threading.Thread(target=change, args=(to,)) for to in (OrderStatus.PAID, OrderStatus.CANCELLED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stored = Order.objects.get(pk=order.pk)
    assert [e.seq for e in stored.events] == list(range(1, stored.seq + 1)), "no gap, no duplicate"
    if stored.status == OrderStatus.CANCELLED:
        assert stock(goods.teapot) == 5
    assert "refused" in outcomes or stored.seq == 3  # paid then cancelled is legal too


def test_twenty_concurrent_checkouts_sell_exactly_the_stock(
    people: SimpleNamespace, goods: SimpleNamespace, settings
) -> None:
    settings.MAX_PENDING_ORDERS_PER_USER = 100  # one shopper places them all

    def checkout() -> str:
        try:
            place(people.bob, (goods.teapot.pk, 1))
        except OutOfStock:
            return "sold out"
        return "ordered"

    results = all_at_once(20, checkout)
    assert results.count("ordered") == 5
    assert results.count("sold out") == 15
    assert Order.objects.count() == 5
    assert stock(goods.teapot) == 0


def test_a_user_with_too_many_unpaid_orders_cannot_place_another(
    people: SimpleNamespace, goods: SimpleNamespace, settings
) -> None:
    settings.MAX_PENDING_ORDERS_PER_USER = 2
    first = place(people.ana, (goods.mug.pk, 1))
    place(people.ana, (goods.mug.pk, 1))
    with pytest.raises(TooManyPendingOrders, match="You already have 2 orders waiting for payment"):
        place(people.ana, (goods.mug.pk, 1))
    assert stock(goods.mug) == 38, "the refused checkout took nothing"
    assert Order.objects.filter(user=people.ana).count() == 2
    place(people.bob, (goods.mug.pk, 1))  # the cap is per user
    services.order_pay(order=first, actor=people.ana)  # a paid order no longer holds a place
    place(people.ana, (goods.mug.pk, 1))
    assert stock(goods.mug) == 36
