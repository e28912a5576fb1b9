"""Unpaid orders stop holding stock: deadlines, orders_expire_overdue, its command and its loop.

Real MongoDB over the wire and the real Redis channel layer, as the rest of orders/tests.
"""

from __future__ import annotations

import importlib
import io
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from orders.tests.sockets import connect, resync
from shop.models import Product
from tests.concurrency import all_at_once

LATER = timedelta(hours=1)


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def make_overdue(order: Order) -> None:
    Order.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(seconds=1))


def history(order: Order) -> list[tuple[str, str, str, str]]:
    stored = Order.objects.get(pk=order.pk)
    return [(e.from_status, e.to_status, e.actor_email, e.reason) for e in sorted(stored.events, key=lambda e: e.seq)]


EXPIRED = ("pending", "cancelled", "system", "payment_expired")


def test_placing_sets_the_deadline_from_the_window(people: SimpleNamespace, goods: SimpleNamespace, settings) -> None:
    settings.ORDER_PAYMENT_WINDOW_MINUTES = 45
    order = Order.objects.get(pk=place(people.ana, (goods.mug.pk, 1)).pk)
    assert order.pay_by == order.created_at + timedelta(minutes=45)
    assert order.payment_due == order.pay_by
    services.order_pay(order=order, actor=people.ana)
    assert Order.objects.get(pk=order.pk).payment_due is None  # only pending orders have one


def test_expiry_cancels_only_overdue_pending_orders_and_restocks(people, goods) -> None:
    overdue = place(people.ana, (goods.teapot.pk, 2), (goods.mug.pk, 3))
    in_time = place(people.ana, (goods.teapot.pk, 1))
    paid = place(people.bob, (goods.teapot.pk, 1))
    services.order_pay(order=paid, actor=people.bob)
    for order in (overdue, paid):
        make_overdue(order)
    assert (stock(goods.teapot), stock(goods.mug)) == (1, 37)

    report = services.orders_expire_overdue()

    assert (report.expired, report.already_changed) == (1, 0)
    assert history(overdue)[1:] == [EXPIRED]
    assert Order.objects.get(pk=in_time.pk).status == OrderStatus.PENDING
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID
    assert (stock(goods.teapot), stock(goods.mug)) == (3, 40)
    # Once more: nothing left to do, nothing put back twice.
    assert services.orders_expire_overdue() == services.ExpiryReport()
    assert (stock(goods.teapot), stock(goods.mug)) == (3, 40)
    # The in-time order expires when its own deadline has passed.
    assert services.orders_expire_overdue(now=timezone.now() + LATER).expired == 1
    assert stock(goods.teapot) == 4


def test_expiry_works_through_batches(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    orders = [place(people.ana, (goods.mug.pk, 1)) for _ in range(5)]
    report = services.orders_expire_overdue(now=timezone.now() + LATER, batch=2)
    assert report.expired == 5
    assert {Order.objects.get(pk=order.pk).status for order in orders} == {OrderStatus.CANCELLED}
    assert stock(goods.mug) == 40


def test_concurrent_expiry_runs_cancel_each_order_once(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    orders = [place(people.ana, (goods.teapot.pk, 1)) for _ in range(5)]
    assert stock(goods.teapot) == 0
    reports = all_at_once(3, lambda: services.orders_expire_overdue(now=timezone.now() + LATER))
    assert len(reports) == 3
    assert sum(report.expired for report in reports) == 5
    for order in orders:
        assert history(order)[1:] == [EXPIRED]
    assert stock(goods.teapot) == 5


def test_expiring_a_stale_copy_never_cancels_what_was_paid_meanwhile(people, goods) -> None:
    order = place(people.ana, (goods.teapot.pk, 1))
    stale = Order.objects.get(pk=order.pk)  # what the expiry query read, just before the shopper paid
    services.order_pay(order=order, actor=people.ana)

    assert services.order_expire(order=stale) is None

    assert history(order)[1:] == [("pending", "paid", "ana@example.com", "")]
    assert stock(goods.teapot) == 4


def test_paying_and_expiring_at_once_has_exactly_one_winner(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    rounds = 6
    orders = [place(people.ana, (goods.mug.pk, 2)) for _ in range(rounds)]
    outcomes: dict[str, list[str]] = {"pay": [], "expire": []}

    for order in orders:
        barrier = threading.Barrier(2)
        copies = [Order.objects.get(pk=order.pk) for _ in range(2)]  # both read it pending, as in production

        def pay(copy: Order = copies[0], gate: threading.Barrier = barrier) -> None:
            gate.wait()
            try:
                services.order_pay(order=copy, actor=people.ana)
                outcomes["pay"].append("won")
            except services.OrderError:
                outcomes["pay"].append("refused")

        def expire(copy: Order = copies[1], gate: threading.Barrier = barrier) -> None:
            gate.wait()
            outcomes["expire"].append("won" if services.order_expire(order=copy) else "refused")

        threads = [threading.Thread(target=pay), threading.Thread(target=expire)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    paid = 0
    for order in orders:
        steps = history(order)[1:]
        assert steps in ([("pending", "paid", "ana@example.com", "")], [EXPIRED]), steps
        paid += steps[0][1] == "paid"
    assert outcomes["pay"].count("won") == paid
    assert outcomes["expire"].count("won") == rounds - paid
    assert stock(goods.mug) == 40 - 2 * paid, "no unit lost or put back twice"


def test_paying_after_the_deadline_is_refused_and_cancels(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.teapot.pk, 2))
    make_overdue(order)

    with pytest.raises(services.PaymentExpired) as refused:
        services.order_pay(order=Order.objects.get(pk=order.pk), actor=people.ana)

    assert refused.value.message == str(services.PAYMENT_EXPIRED) % {"number": order.number}
    assert history(order)[1:] == [EXPIRED]
    assert stock(goods.teapot) == 5


def test_orders_from_before_deadlines_are_left_alone(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    Order.objects.filter(pk=order.pk).update(pay_by=None)
    assert services.orders_expire_overdue(now=timezone.now() + LATER).expired == 0
    assert services.order_pay(order=Order.objects.get(pk=order.pk), actor=people.ana).status == OrderStatus.PAID


def test_the_command_expires_overdue_orders(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    overdue, in_time = place(people.ana, (goods.teapot.pk, 1)), place(people.ana, (goods.teapot.pk, 1))
    make_overdue(overdue)
    out = io.StringIO()
    call_command("expire_orders", stdout=out)
    assert out.getvalue().strip() == "orders expired: 1, already paid or cancelled: 0"
    assert history(overdue)[1:] == [EXPIRED]
    assert Order.objects.get(pk=in_time.pk).status == OrderStatus.PENDING
    assert stock(goods.teapot) == 4


@pytest.mark.asyncio
async def test_an_expiry_reaches_an_open_order_page(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    staff = await connect(people.staff, "/ws/staff/orders/")
    shown = (await resync(page))["order"]
    assert shown["pay_by"] == (await sync_to_async(Order.objects.get)(pk=order.pk)).pay_by.isoformat()
    await resync(staff)

    await sync_to_async(services.orders_expire_overdue)(now=timezone.now() + LATER)

    for socket in (page, staff):
        message = await socket.receive_json_from(timeout=5)
        assert message["type"] == "order.changed"
        assert message["order"]["status"] == "cancelled"
        assert message["order"]["pay_by"] is None
        event = message["order"]["event"]
        assert (event["from"], event["to"], event["actor"], event["reason"]) == EXPIRED
    for socket in (page, staff):
        await socket.disconnect()


def test_the_migration_gives_pending_orders_from_before_a_deadline(people, goods, settings) -> None:
    migration = importlib.import_module("orders.migrations.0002_order_pay_by")
    settings.ORDER_PAYMENT_WINDOW_MINUTES = 10
    pending, paid = place(people.ana, (goods.mug.pk, 1)), place(people.ana, (goods.mug.pk, 1))
    services.order_pay(order=paid, actor=people.ana)
    Order.objects.filter(pk__in=[pending.pk, paid.pk]).update(pay_by=None)

    migration.set_deadlines_of_pending_orders(apps, None)

    stored = Order.objects.get(pk=pending.pk)
    assert stored.pay_by == stored.created_at + timedelta(minutes=10)
    assert Order.objects.get(pk=paid.pk).pay_by is None
