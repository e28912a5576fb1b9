"""Counting order events once, in one round trip; rebuilding from MongoDB; local days."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_redis import get_redis_connection

from analytics import keys
from analytics.days import day_bounds, today
from analytics.jobs import analytics_rebuild_when_lost
from analytics.selectors import analytics_snapshot
from analytics.services import analytics_day_rebuild, order_event_count
from analytics.tests.helpers import redis_round_trips
from orders import services as order_services
from orders.models import Order, OrderStatus
from orders.tests.factories import place

ORDER_FIGURES = ("orders", "units_sold", "paid", "cancelled", "expired", "revenue", "revenue_minor",
                 "paid_revenue", "average_order_value", "top_by_units", "top_by_revenue", "per_minute")  # fmt: skip


def order_figures(snapshot: dict) -> dict:
    return {name: snapshot[name] for name in ORDER_FIGURES}


def test_orders_payments_and_cancellations_are_counted_exactly(people: SimpleNamespace, goods) -> None:
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    first = place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 1))  # 2 x 8.50 + 30 = 47.00
    second = place(people.bob, (goods.mug.pk, 1))  # 8.50
    order_services.order_pay(order=first, actor=people.ana)
    order_services.order_cancel(order=second, actor=people.bob)
    figures = analytics_snapshot()
    assert (figures["orders"], figures["units_sold"], figures["paid"], figures["cancelled"]) == (2, 4, 1, 1)
    assert figures["revenue"] == {"EUR": "55.50"}
    assert figures["revenue_minor"] == {"EUR": 5550}
    assert figures["paid_revenue"] == {"EUR": "47.00"}
    assert figures["average_order_value"] == {"EUR": "27.75"}
    assert figures["top_by_units"][0] == {"product_id": str(goods.mug.pk), "name": "Mug", "units": 3}
    assert figures["top_by_revenue"][0]["revenue"] == "30.00"
    assert figures["funnel"]["orders_placed"] == 2
    assert figures["funnel"]["orders_paid"] == 1
    # The orders are in the minutes since the test began (one, or two across a minute's end), the
    # newest of them the last bucket of the history.
    since = [minute for minute in figures["per_minute"] if datetime.fromisoformat(minute["at"]) >= started]
    assert 1 <= len(since) <= 2, [minute["at"] for minute in since]
    assert sum(minute["orders"] for minute in figures["per_minute"]) == sum(minute["orders"] for minute in since) == 2
    assert sum(Decimal(minute["revenue"].get("EUR", "0")) for minute in since) == Decimal("55.50")
    assert since[-1] is figures["per_minute"][-1]


def test_an_event_delivered_twice_counts_once(people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 3))  # counted as it is placed
    assert order_event_count(order=order, event=order.events[-1]) is False
    assert order_event_count(order=Order.objects.get(pk=order.pk), event=order.events[-1]) is False
    figures = analytics_snapshot()
    assert (figures["orders"], figures["units_sold"], figures["revenue_minor"]) == (1, 3, {"EUR": 2550})


def test_every_analytics_key_expires(people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    order_services.order_pay(order=order, actor=people.ana)
    analytics_day_rebuild(day=today())
    redis = get_redis_connection("default")
    written = list(redis.scan_iter(match="an:*"))
    assert written
    assert all(redis.ttl(key) > 0 for key in written), [key for key in written if redis.ttl(key) <= 0]


def _checkout_and_payment_trips(people: SimpleNamespace, goods) -> tuple[int, int]:
    with redis_round_trips() as placing:
        order = place(people.ana, (goods.mug.pk, 1))
    with redis_round_trips() as paying:
        order_services.order_pay(order=order, actor=people.ana)
    return placing.count, paying.count


def test_a_checkout_and_a_status_change_add_one_redis_round_trip_each(people: SimpleNamespace, goods) -> None:
    _checkout_and_payment_trips(people, goods)  # connections opened, scripts and pools warm
    with override_settings(ANALYTICS_ENABLED=False):
        _checkout_and_payment_trips(people, goods)
        off = _checkout_and_payment_trips(people, goods)
    on = _checkout_and_payment_trips(people, goods)
    assert analytics_snapshot()["orders"] == 2  # the two placed with analytics off were not counted
    print(f"Redis round trips, analytics off vs on: checkout {off[0]} vs {on[0]}, payment {off[1]} vs {on[1]}")
    assert on[0] - off[0] <= 1, f"checkout: {off[0]} round trips without analytics, {on[0]} with"
    assert on[1] - off[1] <= 1, f"payment: {off[1]} round trips without analytics, {on[1]} with"


def test_flushed_redis_is_restored_by_the_rebuild(people: SimpleNamespace, goods) -> None:
    analytics_day_rebuild(day=today())  # as the scheduler's first run leaves it
    paid = place(people.ana, (goods.mug.pk, 2), (goods.teapot.pk, 1))
    order_services.order_pay(order=paid, actor=people.ana)
    order_services.order_cancel(order=place(people.bob, (goods.teapot.pk, 2)), actor=people.bob)
    before = order_figures(analytics_snapshot())
    assert before["orders"] == 2
    assert before["cancelled"] == 1
    assert analytics_rebuild_when_lost() == "figures present"
    get_redis_connection("default").flushdb()
    assert analytics_snapshot()["orders"] == 0
    assert analytics_rebuild_when_lost().startswith("rebuilt")
    assert order_figures(analytics_snapshot()) == before
    output = io.StringIO()
    call_command("analytics_rebuild", stdout=output)
    assert output.getvalue().startswith(f"{today().isoformat()}: 4 events of 2 orders counted")
    assert order_figures(analytics_snapshot()) == before
    # An event the rebuild counted, delivered late, is not counted again.
    assert order_event_count(order=paid, event=paid.events[0]) is False


def _move_to(order: Order, moment: datetime) -> Order:
    """Pretend ``order`` was placed at ``moment`` (its only event too)."""
    connection.get_collection(Order._meta.db_table).update_one(
        {"_id": order.pk}, {"$set": {"created_at": moment, "updated_at": moment, "events.0.at": moment}}
    )
    return Order.objects.get(pk=order.pk)


@override_settings(SHOP_TIME_ZONE="Europe/Madrid")
def test_orders_at_2359_and_0001_local_time_land_on_different_days(people: SimpleNamespace, goods) -> None:
    madrid = ZoneInfo("Europe/Madrid")
    late = datetime(2026, 3, 28, 23, 59, tzinfo=madrid).astimezone(UTC)  # 22:59 UTC
    early = datetime(2026, 3, 29, 0, 1, tzinfo=madrid).astimezone(UTC)  # 23:01 UTC, the same UTC day
    first, second = (
        _move_to(place(people.ana, (goods.mug.pk, 1)), late),
        _move_to(place(people.bob, (goods.mug.pk, 2)), early),
    )
    saturday, sunday = late.astimezone(madrid).date(), early.astimezone(madrid).date()
    assert saturday != sunday
    assert late.date() == early.date()
    assert day_bounds(sunday)[1] - day_bounds(sunday)[0] == (
        datetime(2026, 3, 30, tzinfo=UTC) - datetime(2026, 3, 29, 1, tzinfo=UTC)
    )
    redis = get_redis_connection("default")
    redis.delete(*(keys.event_marker(order.pk, 1) for order in (first, second)))
    for order in (first, second):  # live counting files each under its local day
        assert order_event_count(order=order, event=order.events[0])
    assert analytics_snapshot(day=saturday)["units_sold"] == 1
    assert analytics_snapshot(day=sunday)["units_sold"] == 2
    for day, units in ((saturday, 1), (sunday, 2)):  # and the rebuild agrees
        report = analytics_day_rebuild(day=day)
        assert (report.orders, analytics_snapshot(day=day)["units_sold"]) == (1, units)


@override_settings(ANALYTICS_ENABLED=False)
def test_nothing_is_counted_with_analytics_off(people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    order_services.order_status_change(order=order, to=OrderStatus.PAID, actor=people.staff)
    assert not list(get_redis_connection("default").scan_iter(match="an:*"))


def test_events_missed_while_redis_failed_get_their_day_rebuilt(people: SimpleNamespace, goods) -> None:
    from analytics import services

    analytics_day_rebuild(day=today())
    missed = place(people.ana, (goods.mug.pk, 1))
    redis = get_redis_connection("default")
    # As if Redis had failed while this event was counted: its marker and figures are not there.
    redis.delete(keys.event_marker(missed.pk, 1), keys.day_figures(today()))
    services._missed_days.add(today())
    place(people.bob, (goods.mug.pk, 2))  # Redis answers again: the day is handed to the rebuild
    assert not services._missed_days
    assert analytics_rebuild_when_lost().startswith("rebuilt")
    assert (analytics_snapshot()["orders"], analytics_snapshot()["units_sold"]) == (2, 3)


def test_a_day_missed_while_redis_failed_is_handed_to_the_rebuild_in_the_background(
    settings, people: SimpleNamespace, goods
) -> None:
    from analytics import services
    from common import redis_debts
    from common.tests.helpers import redis_down_caches

    settings.REDIS_DEBTS_RETRY_SECONDS = 0.2
    order = place(people.ana, (goods.mug.pk, 1))
    analytics_day_rebuild(day=today())
    redis = get_redis_connection("default")
    redis.delete(keys.event_marker(order.pk, 1))
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        assert order_event_count(order=order, event=order.events[0]) is False
        assert "analytics days to rebuild" in redis_debts.redis_debts()
    started = time.monotonic()
    while redis_debts.redis_debts():  # no count follows: only the process's retry thread reaches Redis
        assert time.monotonic() - started < 5, f"still owed: {redis_debts.redis_debts()}"
        time.sleep(0.05)
    assert not services._missed_days
    assert not redis.exists(keys.day_built(today()))  # the scheduled check rebuilds the day
