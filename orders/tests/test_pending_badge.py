"""orders/pending_badge.py: the count of a user's pending orders in Redis, right after every change."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import override_settings
from django_redis import get_redis_connection

from common import guarded_cache
from common.mongo_commands import mongo_commands
from common.tests.helpers import redis_down_caches
from orders import services
from orders.models import OrderStatus
from orders.pending_badge import pending_badge_key, pending_orders_badge
from orders.tests.factories import place


@pytest.fixture(autouse=True)
def _nothing_pending() -> None:
    guarded_cache._unforgotten.clear()


def test_the_count_follows_placing_paying_cancelling_staff_and_expiry(
    people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    ana = people.ana
    assert pending_orders_badge(user=ana) == 0
    first, second, third = (place(ana, (goods.mug.pk, 1)) for _ in range(3))
    assert pending_orders_badge(user=ana) == 3
    assert pending_orders_badge(user=people.bob) == 0

    services.order_pay(order=first, actor=ana)
    assert pending_orders_badge(user=ana) == 2
    services.order_cancel(order=second, actor=ana)
    assert pending_orders_badge(user=ana) == 1
    services.order_status_change(order=services.order_pay(order=third, actor=ana), to=OrderStatus.SHIPPED,
                                 actor=people.staff)  # fmt: skip
    assert pending_orders_badge(user=ana) == 0
    expiring = place(ana, (goods.mug.pk, 1))
    assert pending_orders_badge(user=ana) == 1
    services.order_expire(order=expiring)
    assert pending_orders_badge(user=ana) == 0


def test_a_warm_count_is_one_redis_read(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    place(people.ana, (goods.mug.pk, 1))
    assert pending_orders_badge(user=people.ana) == 1
    with mongo_commands() as sent:
        assert pending_orders_badge(user=people.ana) == 1
    assert sent == []
    assert 0 < get_redis_connection("default").ttl(pending_badge_key(people.ana.pk)) <= 600


def test_a_change_while_redis_is_down_is_not_shown_stale_when_it_is_back(
    people: SimpleNamespace, goods: SimpleNamespace, settings
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    assert pending_orders_badge(user=people.ana) == 1  # the count an append-only Redis comes back with
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        services.order_pay(order=order, actor=people.ana)  # paying works while Redis is down
        assert pending_orders_badge(user=people.ana) == 0  # counted in MongoDB meanwhile

    assert get_redis_connection("default").get(pending_badge_key(people.ana.pk)) == b"1"
    assert pending_orders_badge(user=people.ana) == 0
