"""When order e-mails are queued (orders/notifications.py, common/jobs.py), against real Redis and MongoDB."""

from __future__ import annotations

import django_rq
from django.db import connection
from django_mongodb_backend import transaction as mongo_transaction

from common.jobs import QUEUE_EMAIL
from orders import services
from orders.models import Order, OrderStatus
from orders.notifications import mail_job_id
from orders.tests.factories import place


def queued_ids() -> list[str]:
    return django_rq.get_queue(QUEUE_EMAIL).get_job_ids()


def test_the_job_is_queued_once_the_write_is_stored(people, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))  # outside any atomic(): on_commit ran at once
    assert queued_ids() == [mail_job_id(order.pk, 1)]
    assert Order.objects.get(pk=order.pk).notify_pending is True
    paid = services.order_status_change(order=order, to=OrderStatus.PAID, actor=people.staff)
    assert queued_ids() == [mail_job_id(order.pk, 1), mail_job_id(order.pk, 2)]
    assert paid.seq == 2


def test_inside_the_backends_atomic_the_job_waits_for_the_commit_and_is_dropped_on_rollback(people, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    django_rq.get_queue(QUEUE_EMAIL).empty()
    with mongo_transaction.atomic():
        paid = services.order_status_change(order=order, to=OrderStatus.PAID, actor=people.staff)
        assert connection.in_atomic_block_mongo
        assert queued_ids() == []  # not yet: the transaction may still roll back
    assert queued_ids() == [mail_job_id(order.pk, 2)]

    class Abandon(Exception):
        pass

    try:
        with mongo_transaction.atomic():
            services.order_status_change(order=paid, to=OrderStatus.SHIPPED, actor=people.staff)
            raise Abandon
    except Abandon:
        pass
    assert queued_ids() == [mail_job_id(order.pk, 2)]  # the rolled-back change queued nothing


def test_a_redis_outage_does_not_fail_the_write(people, goods, settings) -> None:
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1} for name in settings.RQ_QUEUES}
    order = place(people.ana, (goods.mug.pk, 1))
    assert Order.objects.get(pk=order.pk).notify_pending is True  # the reconciliation will find it
