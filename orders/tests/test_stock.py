"""Stock stays whole when MongoDB fails halfway through a checkout or a cancellation.

The failures are injected by replacing one collaborator (the order insert, a stock write) with
one that raises what pymongo raises when the server is gone; everything else is the real
database. tests/faults/ kills the real server instead.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import DatabaseError
from django.utils import timezone
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from orders import services, stock
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from shop.models import Product
from shop.selectors import stock_ledger_entries

NOW = timedelta(0)  # settle everything, however young


def units(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def ledger() -> list[str]:
    return sorted(entry["key"] for _, entry in stock_ledger_entries(recorded_before=timezone.now() + timedelta(1)))


def mongodb_gone(*_args: object, **_kwargs: object) -> None:
    raise DatabaseError from ServerSelectionTimeoutError("127.0.0.1:27018: [Errno 111] Connection refused")


def test_a_failed_insert_puts_the_stock_back(people, goods, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_insert_order", mongodb_gone)
    with pytest.raises(DatabaseError):
        place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 1))
    assert (units(goods.mug), units(goods.teapot)) == (40, 5)
    assert ledger() == []
    assert not Order.objects.exists()


def test_when_the_put_back_fails_too_settling_restores_the_stock(people, goods, monkeypatch) -> None:
    monkeypatch.setattr(services, "_insert_order", mongodb_gone)
    monkeypatch.setattr(stock, "product_stock_undo", mongodb_gone)
    # "Was it stored?" cannot be asked either (only stock's own reads fail: the checkout's
    # earlier reads, such as the count of unpaid orders, happened before MongoDB went).
    monkeypatch.setattr(stock, "Order", SimpleNamespace(objects=SimpleNamespace(filter=mongodb_gone)))
    with pytest.raises(DatabaseError):
        place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 1))
    monkeypatch.undo()  # MongoDB is back
    assert (units(goods.mug), units(goods.teapot)) == (38, 4)  # taken, and recorded as such
    assert len(ledger()) == 2
    assert stock.stock_settle().changed == 0, "young entries are left alone: their checkout may still be running"
    report = stock.stock_settle(older_than=NOW)
    assert report.takes_undone == 2
    assert (units(goods.mug), units(goods.teapot)) == (40, 5)
    assert ledger() == []
    assert stock.stock_settle(older_than=NOW).changed == 0, "settling twice changes nothing"


def test_an_insert_that_reported_failure_but_was_stored_keeps_the_order(people, goods, monkeypatch) -> None:
    real_insert = services._insert_order

    def stored_then_connection_lost(**kwargs: object) -> Order:
        real_insert(**kwargs)
        raise DatabaseError from AutoReconnect("connection closed")

    monkeypatch.setattr(services, "_insert_order", stored_then_connection_lost)
    order = place(people.ana, (goods.teapot.pk, 2))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert units(goods.teapot) == 3
    assert ledger() == []


def test_settling_confirms_the_takes_of_stored_orders(people, goods, monkeypatch) -> None:
    monkeypatch.setattr(stock, "takes_confirm", lambda **_: None)  # the confirmation was lost
    order = place(people.ana, (goods.teapot.pk, 2))
    monkeypatch.undo()
    assert ledger() == [stock.take_key(order.pk)]
    assert stock.stock_settle(older_than=NOW).takes_confirmed == 1
    assert units(goods.teapot) == 3, "a stored order keeps its units"
    assert ledger() == []


def test_a_cancellation_interrupted_halfway_is_finished_by_settling(people, goods, monkeypatch) -> None:
    order = place(people.ana, (goods.mug.pk, 4), (goods.teapot.pk, 2))
    real_return = stock.product_stock_return
    calls = []

    def second_return_fails(**kwargs: object) -> bool:
        calls.append(kwargs)
        if len(calls) == 2:
            mongodb_gone()
        return real_return(**kwargs)

    monkeypatch.setattr(stock, "product_stock_return", second_return_fails)
    cancelled = services.order_cancel(order=order, actor=people.ana)
    monkeypatch.undo()
    assert cancelled.status == OrderStatus.CANCELLED, "the cancellation stands"
    assert (units(goods.mug), units(goods.teapot)) == (40, 3), "one line came back, the other not yet"
    assert stock.stock_settle(older_than=NOW).restocks_finished == 1
    assert (units(goods.mug), units(goods.teapot)) == (40, 5)
    assert ledger() == []
    assert stock.stock_settle(older_than=NOW).changed == 0
    assert (units(goods.mug), units(goods.teapot)) == (40, 5), "each line came back exactly once"


def test_a_checkout_too_slow_to_finish_before_settling_gives_up(people, goods, settings) -> None:
    settings.STOCK_HOLD_TIMEOUT_SECONDS = 0  # any checkout is now "too slow"
    with pytest.raises(services.OrderError, match="could not place your order"):
        place(people.ana, (goods.teapot.pk, 1))
    assert units(goods.teapot) == 5
    assert ledger() == []


def test_unparseable_ledger_keys_are_ignored() -> None:
    assert stock._order_id_of("order:not-an-id:take") is None
    assert stock._order_id_of("other:thing") is None
