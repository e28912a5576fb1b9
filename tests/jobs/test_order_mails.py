"""Order e-mails through real workers, real Redis, MongoDB over the wire and a real SMTP server."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from django.utils import timezone
from django_redis import get_redis_connection

from orders import notifications as mails
from orders import services
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from tests.jobs.mailserver import Mailbox, body, subjects
from tests.jobs.workers import Workers


def about(order: Order):
    return lambda message: order.number in message["Subject"]


def settle(mailbox: Mailbox, seconds: float = 2.0) -> None:
    """Give a duplicate the time it would need to arrive."""
    time.sleep(seconds)


# A short lease, so the tests see a dead worker's claim run out; the e-mail job's timeout must be shorter.
SHORT_LEASE = {"ORDER_EMAIL_LEASE_SECONDS": "4", "EMAIL_JOB_TIMEOUT_SECONDS": "3",
               "ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS": "1"}  # fmt: skip


def mail_state(order: Order, seq: int) -> mails.MailState | None:
    return mails.order_mail_states(order_id=order.pk).get(seq)


def wait_for_state(order: Order, seq: int, state: str, timeout: float = 30.0) -> mails.MailState:
    deadline = time.monotonic() + timeout
    while (found := mail_state(order, seq)) is None or found.state != state:
        assert time.monotonic() < deadline, f"event {seq} still {found} after {timeout} s"
        time.sleep(0.2)
    return found


def test_checkout_pay_ship_deliver_and_cancel_each_give_one_email(people, goods, workers: Workers, mailbox: Mailbox):
    people.ana.language = "es"
    people.ana.save()
    workers.start("worker")
    delivered = place(people.ana, (goods.mug.pk, 2))
    for to in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        delivered = services.order_status_change(order=delivered, to=to, actor=people.staff)
    by_shopper = services.order_cancel(order=place(people.bob, (goods.mug.pk, 1)), actor=people.bob)
    by_staff = services.order_cancel(order=place(people.bob, (goods.mug.pk, 1)), actor=people.staff)
    unpaid = place(people.bob, (goods.mug.pk, 1))
    Order.objects.filter(pk=unpaid.pk).update(pay_by=timezone.now() - timedelta(minutes=1))
    services.orders_expire_overdue()

    spanish = mailbox.wait_for(4, what=about(delivered))
    assert sorted(subjects(spanish)) == sorted(
        f"Pedido {delivered.number} {what}" for what in ("realizado", "pagado", "enviado", "entregado")
    )
    placed = next(m for m in spanish if "realizado" in m["Subject"])
    text = body(placed)
    assert "2 \u00d7 Mug (MUG-1): 17,00 EUR" in text  # Spanish number format
    assert "Calle Mayor 1" in text
    assert "28013 Madrid" in text
    assert "Paga antes del" in text
    assert f"http://shop.test/orders/{delivered.number}/" in text
    assert f'href="http://shop.test/orders/{delivered.number}/"' in body(placed, "text/html")
    assert placed["To"] == "ana@example.com"

    for order, reason in ((by_shopper, "You cancelled order"), (by_staff, "cancelled by the shop"),
                          (unpaid, "payment was not received in time")):  # fmt: skip
        mails = mailbox.wait_for(2, what=about(order))
        cancelled = [m for m in mails if "cancelled" in m["Subject"]]
        assert len(cancelled) == 1, subjects(mails)
        assert reason in body(cancelled[0])
    settle(mailbox)
    assert len(mailbox.messages) == 4 + 2 * 3, subjects(mailbox.messages)
    assert Order.objects.filter(notify_pending=True).count() == 0


def test_a_refusing_mail_server_gives_one_email_after_the_retries(people, goods, workers: Workers, mailbox: Mailbox):
    mailbox.refuse_next = 2
    workers.start("worker")
    order = place(people.ana, (goods.mug.pk, 1))

    assert len(mailbox.wait_for(1, what=about(order))) == 1
    settle(mailbox)
    assert mailbox.refused == 2
    assert len(mailbox.messages) == 1
    job = get_redis_connection("default").hgetall(f"rq:job:{mails.mail_job_id(order.pk, 1)}")
    assert job[b"status"] == b"finished"


def test_an_address_the_server_rejects_fails_once_and_does_not_block_the_queue(
    people, goods, workers: Workers, mailbox: Mailbox
):
    mailbox.rejected_addresses.add("ana@example.com")
    workers.start("worker")
    rejected = place(people.ana, (goods.mug.pk, 1))
    fine = place(people.bob, (goods.mug.pk, 1))

    assert len(mailbox.wait_for(1, what=about(fine))) == 1
    redis = get_redis_connection("default")
    deadline = time.monotonic() + 10
    while redis.zscore("rq:failed:email", mails.mail_job_id(rejected.pk, 1)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert redis.zscore("rq:failed:email", mails.mail_job_id(rejected.pk, 1)) is not None
    assert int(redis.hget(f"rq:job:{mails.mail_job_id(rejected.pk, 1)}", "retries_left") or 0) == 0
    failed = mail_state(rejected, 1)
    assert failed.state == mails.FAILED
    assert "550" in failed.reason
    assert f"refused {rejected.email} for good" in workers.log("worker")
    assert rejected.number in workers.log("worker")


def test_a_job_for_an_order_that_no_longer_exists_ends_with_a_log_line(people, goods, workers: Workers):
    order = place(people.ana, (goods.mug.pk, 1))
    Order.objects.filter(pk=order.pk).delete()
    workers.start("worker")
    deadline = time.monotonic() + 15
    while "has no event 1" not in workers.log("worker") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"order e-mail skipped: order {order.pk} has no event 1" in workers.log("worker")
    assert get_redis_connection("default").zcard("rq:failed:email") == 0


def test_a_worker_killed_before_the_hand_over_leaves_one_email_sent_later(
    people, goods, workers: Workers, mailbox: Mailbox
):
    # The reconciliation runs on a worker of its own (``low``), so the scheduler survives the kill.
    workers.start("upkeep", "low", **SHORT_LEASE)
    victim = workers.start("victim", "email", scheduler=False, **SHORT_LEASE)
    mailbox.stall_next = "RCPT"
    order = place(people.ana, (goods.mug.pk, 1))
    assert mailbox.stalled.wait(20), "the worker never reached RCPT"
    Workers.kill(victim)  # claimed, the message not handed over
    assert mail_state(order, 1).state == mails.CLAIMED
    workers.start("after", "email", scheduler=False, **SHORT_LEASE)

    assert len(mailbox.wait_for(1, timeout=40, what=about(order))) == 1
    assert wait_for_state(order, 1, mails.SENT).attempts == 2
    settle(mailbox, 5)  # past another lease: nothing sends it again
    assert len(mailbox.messages) == 1
    assert "queued by the reconciliation" in workers.log("upkeep")


def test_a_worker_killed_during_the_hand_over_never_sends_it_again(people, goods, workers: Workers, mailbox: Mailbox):
    workers.start("upkeep", "low", **SHORT_LEASE)
    victim = workers.start("victim", "email", scheduler=False, **SHORT_LEASE)
    mailbox.stall_next = "DATA"  # the server keeps the message and never says 250
    order = place(people.ana, (goods.mug.pk, 1))
    assert mailbox.stalled.wait(20), "the worker never reached DATA"
    Workers.kill(victim)
    assert mail_state(order, 1).state == mails.HANDING_OVER
    workers.start("after", "email", scheduler=False, **SHORT_LEASE)

    unknown = wait_for_state(order, 1, mails.UNKNOWN)
    assert unknown.reason == mails.REASON_WORKER_DIED
    settle(mailbox, 5)  # the reconciliation ran every second meanwhile
    assert len(mailbox.messages) == 1  # the one the server took before the worker died
    stored = Order.objects.get(pk=order.pk)
    assert (stored.notify_unknown, stored.notify_pending) == (True, False)
    assert f"order {order.pk} event 1: delivery unknown" in workers.log("upkeep")


def test_no_answer_after_the_hand_over_is_delivery_unknown_not_a_retry(
    people, goods, workers: Workers, mailbox: Mailbox
):
    workers.start("worker", EMAIL_TIMEOUT_SECONDS="2")  # the SMTP answer times out before the job does
    mailbox.stall_next = "DATA"
    order = place(people.ana, (goods.mug.pk, 1))

    reason = wait_for_state(order, 1, mails.UNKNOWN).reason
    assert reason.startswith("no answer after the hand-over"), reason
    assert "timed out" in reason
    settle(mailbox, 3)  # retries come after 1 s in the tests: none does
    assert len(mailbox.messages) == 1
    job = get_redis_connection("default").hgetall(f"rq:job:{mails.mail_job_id(order.pk, 1)}")
    assert job[b"status"] == b"finished"
    assert f"order {order.number} event 1: delivery unknown" in workers.log("worker")


def test_an_email_never_queued_is_sent_by_the_reconciliation(people, goods, workers: Workers, mailbox: Mailbox):
    order = place(people.ana, (goods.mug.pk, 1))
    get_redis_connection("default").flushdb()  # the job is lost, as if Redis had been down at checkout
    workers.start("worker", ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS="1")

    assert len(mailbox.wait_for(1, timeout=20, what=about(order))) == 1
    assert re.search(rf"order e-mail order-mail-{order.pk}-1 queued by the reconciliation", workers.log("worker"))


def test_a_job_taken_from_the_queue_and_never_started_is_sent_after_a_lease(
    people, goods, workers: Workers, mailbox: Mailbox
):
    order = place(people.ana, (goods.mug.pk, 1))
    job_id = mails.mail_job_id(order.pk, 1)
    redis = get_redis_connection("default")
    # What a worker's dequeue does (RQ moves the job to the queue's intermediate list) when the worker
    # then loses Redis before starting it, as in a failover: the job stays "queued", in no queue.
    assert redis.lmove("rq:queue:email", "rq:queue:email:intermediate").decode() == job_id
    workers.start("worker", **SHORT_LEASE)

    assert len(mailbox.wait_for(1, timeout=30, what=about(order))) == 1
    assert wait_for_state(order, 1, mails.SENT).attempts == 1
    assert f"order e-mail {job_id} queued by the reconciliation" in workers.log("worker")
    assert redis.llen("rq:queue:email:intermediate") == 0
    settle(mailbox, 5)  # past another lease: nothing sends it again
    assert len(mailbox.messages) == 1
