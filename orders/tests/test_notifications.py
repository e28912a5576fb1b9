"""When order e-mails are queued (orders/notifications.py, common/jobs.py), against real Redis and MongoDB."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_mongodb_backend import transaction as mongo_transaction

from common.jobs import QUEUE_EMAIL
from common.mongo_commands import mongo_commands
from orders import notifications, services
from orders.models import Order, OrderStatus
from orders.notifications import IN_FLIGHT, mail_job_id, order_mails_reconcile
from orders.tests.factories import place
from tests.jobs.workers import jobs_run


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


def test_the_reconciliation_leaves_a_just_stored_event_to_the_request_that_queues_its_job(people, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    # The moment between the write and the request's own enqueue: the event is stored, its job not queued yet.
    django_rq.get_queue(QUEUE_EMAIL).empty()

    report = order_mails_reconcile()
    assert (report.queued, report.waiting, report.pushed_again) == (0, 1, 0)
    assert queued_ids() == []
    assert Order.objects.get(pk=order.pk).notify_pending is True

    later = order_mails_reconcile(now=timezone.now() + IN_FLIGHT + timedelta(seconds=1))
    assert (later.queued, later.waiting, later.pushed_again) == (1, 0, 1)  # never queued: lost, so queued here
    assert queued_ids() == [mail_job_id(order.pk, 1)]


def test_an_email_sent_after_the_reconciliation_read_its_order_is_not_queued_again(
    people, goods, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    read_by_the_run = list(notifications._flagged_orders(500))  # its e-mail still to send
    jobs_run(QUEUE_EMAIL)  # then a worker sends it, records it and ends its job
    assert [message.to for message in mail.outbox] == [[order.email]]
    monkeypatch.setattr(notifications, "_flagged_orders", lambda batch: read_by_the_run)

    report = order_mails_reconcile(now=timezone.now() + IN_FLIGHT + timedelta(seconds=1))
    assert (report.queued, report.pushed_again) == (0, 0)
    assert django_rq.get_queue(QUEUE_EMAIL).count == 0
    assert notifications.order_mail_states(order_id=order.pk)[1].state == notifications.SENT


def order_updates(sent: list[str]) -> int:
    return sent.count(f"update {Order._meta.db_table}")


def test_the_last_events_email_is_recorded_and_the_order_cleared_in_one_update(people, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    jobs_run(QUEUE_EMAIL)
    services.order_pay(order=order, actor=people.ana)

    with mongo_commands() as sent:
        jobs_run(QUEUE_EMAIL)
    assert order_updates(sent) == 3  # the claim, the hand-over, and the outcome with the flag
    stored = Order.objects.get(pk=order.pk)
    assert stored.notify_pending is False
    assert [state.state for state in notifications.order_mail_states(order_id=order.pk).values()] == ["sent", "sent"]


def test_an_email_sent_while_an_earlier_one_waits_leaves_the_order_flagged_until_that_one_is_sent(
    people, goods
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    services.order_pay(order=order, actor=people.ana)
    django_rq.get_queue(QUEUE_EMAIL).empty()

    with mongo_commands() as sent:
        outcome = notifications.order_event_mail_send(order_id=str(order.pk), seq=2)
    assert outcome == notifications.OUTCOME_SENT
    assert order_updates(sent) == 5  # the outcome alone, then the flag's own update, which matches nothing
    assert Order.objects.get(pk=order.pk).notify_pending is True

    assert notifications.order_event_mail_send(order_id=str(order.pk), seq=1) == notifications.OUTCOME_SENT
    assert Order.objects.get(pk=order.pk).notify_pending is False
    assert [message.to for message in mail.outbox] == [[order.email]] * 2
