"""Order e-mails: one per order event (placed, paid, shipped, delivered, cancelled), at most once.

The order document is the record. The write that adds an event (orders/services.py) also sets
``notify_pending``; then the event's job is queued (``order-mail-<order id>-<seq>``, unique, on
the ``email`` queue). Each event has a state under ``notifications.s<seq>`` in the order:

1. **claim**: one conditional update sets ``state: sending`` with a lease (``until``), only if
   the event has no state or its lease ran out. A retried or duplicated job finds it claimed or
   ``sent`` and stops: two jobs can never both be sending one event.
2. **send** over SMTP.
3. **record**: ``state: sent`` (or ``failed`` when the server refused the address for good),
   conditional on the claim's token; ``notify_pending`` is cleared once every event is done.

A transient failure releases the claim and RQ retries the job with backoff (EMAIL_RETRY_DELAYS);
when the retries run out the job stays in the failed registry for staff to requeue. A worker
killed before the server accepted the message leaves a claim whose lease runs out:
`order_mails_reconcile` queues the event again and it is sent once. `order_mails_reconcile` also
queues events whose job was never queued (Redis down, a crash after the write): "late, not never".

What is not covered: a worker killed (or MongoDB lost) after the server accepted the message and
before step 3 stored ``sent``, one MongoDB round trip, leaves the event looking unsent: it is sent
a second time, with the same Message-ID. Events older than ``MAX_EVENT_AGE`` are not e-mailed late.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import django_rq
from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rq.job import Job, JobStatus

from common.jobs import QUEUE_EMAIL, email_retry, enqueue_after_commit, job_enqueue
from common.mail import MailRejected, mail_render, mail_send
from orders.models import EventReason, Order, OrderEvent, OrderStatus

logger = logging.getLogger(__name__)

JOB = "orders.jobs.order_event_mail"
MAX_EVENT_AGE = timedelta(days=3)  # an e-mail about something older says nothing the order page does not
NOTIFY_PENDING = "notify_pending"
NOTIFICATIONS = "notifications"
SENDING, SENT, FAILED = "sending", "sent", "failed"

# What the job did, for its result and log line.
OUTCOME_SENT = "sent"
OUTCOME_DONE_BEFORE = "already sent or given up"
OUTCOME_BUSY = "another worker is sending it"
OUTCOME_GONE = "no such order or event"


def mail_job_id(order_id: object, seq: int) -> str:
    return f"order-mail-{order_id}-{seq}"


def _state_path(seq: int) -> str:
    return f"{NOTIFICATIONS}.s{seq}"


def _collection() -> Any:
    return connection.get_collection(Order._meta.db_table)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment  # pymongo: naive UTC


def _lease() -> timedelta:
    return timedelta(seconds=settings.ORDER_EMAIL_LEASE_SECONDS)


def order_event_mail_enqueue(*, order: Order, event: OrderEvent) -> None:
    """Queue the e-mail of ``event`` once its write is stored (never fails the caller)."""
    enqueue_after_commit(
        JOB, queue=QUEUE_EMAIL, args=(str(order.pk), event.seq), job_id=mail_job_id(order.pk, event.seq),
        retry=email_retry(),
    )  # fmt: skip


# --- Sending one event's e-mail ----------------------------------------------------------------


def _claim(*, order_id: ObjectId, seq: int, token: str) -> bool:
    path, now = _state_path(seq), timezone.now()
    result = _collection().update_one(
        {
            "_id": order_id,
            "$or": [
                {f"{path}.state": {"$exists": False}},
                {f"{path}.state": SENDING, f"{path}.until": {"$lte": now}},
            ],
        },
        {
            "$set": {f"{path}.state": SENDING, f"{path}.token": token, f"{path}.until": now + _lease()},
            "$inc": {f"{path}.attempts": 1},
        },
    )
    return result.modified_count == 1


def _record(*, order_id: ObjectId, seq: int, token: str, state: str, reason: str = "") -> bool:
    path = _state_path(seq)
    result = _collection().update_one(
        {"_id": order_id, f"{path}.token": token},
        {
            "$set": {f"{path}.state": state, f"{path}.at": timezone.now(), f"{path}.reason": reason[:300]},
            "$unset": {f"{path}.until": "", f"{path}.token": ""},
        },
    )
    return result.modified_count == 1


def _release(*, order_id: ObjectId, seq: int, token: str) -> None:
    """Give the claim back after a failed send, so the retry can take it at once."""
    path = _state_path(seq)
    _collection().update_one(
        {"_id": order_id, f"{path}.token": token},
        {"$unset": {f"{path}.state": "", f"{path}.until": "", f"{path}.token": ""}},
    )


def _undone_seqs(document: dict[str, Any], now: datetime) -> list[int]:
    """Events of the order document still to e-mail: not sent or given up, and not too old."""
    states = document.get(NOTIFICATIONS) or {}
    undone = []
    for event in document.get("events") or []:
        seq = int(event["seq"])
        if (states.get(f"s{seq}") or {}).get("state") in (SENT, FAILED):
            continue
        if _aware(event["at"]) < now - MAX_EVENT_AGE:
            continue
        undone.append(seq)
    return undone


def _clear_pending_if_done(order_id: ObjectId) -> None:
    document = _collection().find_one({"_id": order_id}, {"seq": 1, "events": 1, NOTIFICATIONS: 1})
    if document is not None and not _undone_seqs(document, timezone.now()):
        # Conditional on seq: a status change meanwhile set the flag again for its own event.
        _collection().update_one({"_id": order_id, "seq": document["seq"]}, {"$set": {NOTIFY_PENDING: False}})


def _template_and_context(order: Order, event: OrderEvent) -> tuple[str, dict[str, Any]]:
    context: dict[str, Any] = {
        "order": order,
        "event": event,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
    }
    if event.to_status == OrderStatus.PENDING:
        return "order_placed", context
    if event.to_status == OrderStatus.CANCELLED:
        if event.reason == EventReason.PAYMENT_EXPIRED:
            context["cancelled_by"] = "payment_expired"
        elif event.actor_email.lower() == order.email.lower():
            context["cancelled_by"] = "customer"
        else:
            context["cancelled_by"] = "staff"
    return f"order_{event.to_status}", context


def _message_id(order_id: object, seq: int) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "tienda.invalid"
    return f"<order-{order_id}-{seq}@{host}>"


def order_event_mail_send(*, order_id: str, seq: int) -> str:
    """Send the e-mail of event ``seq`` of the order unless it was sent (see the module docstring).

    Returns what happened (``OUTCOME_*``). Raises `MailRejected` when the server refuses the
    address for good (recorded as ``failed`` on the order), and the transient error otherwise.
    """
    try:
        pk = ObjectId(order_id)
    except (InvalidId, TypeError):
        pk = None
    order = Order.objects.filter(pk=pk).select_related("user").first() if pk else None
    event = next((e for e in order.events if e.seq == seq), None) if order else None
    if order is None or event is None:
        logger.warning("order e-mail skipped: order %s has no event %s (deleted?)", order_id, seq)
        return OUTCOME_GONE
    token = secrets.token_hex(8)
    if not _claim(order_id=pk, seq=seq, token=token):
        state = ((_collection().find_one({"_id": pk}, {NOTIFICATIONS: 1}) or {}).get(NOTIFICATIONS) or {}).get(
            f"s{seq}"
        )
        return OUTCOME_BUSY if (state or {}).get("state") == SENDING else OUTCOME_DONE_BEFORE
    template, context = _template_and_context(order, event)
    mail = mail_render(name=template, context=context, language=order.user.language or settings.LANGUAGE_CODE)
    try:
        mail_send(to=order.email, mail=mail, message_id=_message_id(order.pk, seq))
    except MailRejected as error:
        _record(order_id=pk, seq=seq, token=token, state=FAILED, reason=error.reason)
        _clear_pending_if_done(pk)
        logger.error(
            "order %s event %d: the mail server refused %s for good: %s", order.number, seq, order.email, error
        )
        raise
    except BaseException:
        _release(order_id=pk, seq=seq, token=token)
        raise
    if not _record(order_id=pk, seq=seq, token=token, state=SENT):
        logger.error("order %s event %d: sent, but the claim was lost before it was recorded", order.number, seq)
    _clear_pending_if_done(pk)
    return OUTCOME_SENT


# --- Reconciliation: events whose e-mail was never queued, or whose worker died ---------------------


@dataclass
class ReconcileReport:
    queued: int = 0  # jobs queued (never queued before, or queued again after their worker died)
    waiting: int = 0  # claimed by a live worker, queued, waiting for a retry, or failed (staff requeue it)
    orders_done: int = 0  # orders whose flag was cleared


def _requeue_if_abandoned(job_id: str, now: datetime) -> bool:
    """Delete the job ``job_id`` when it started longer ago than a lease (its worker died): True if so."""
    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection(QUEUE_EMAIL))
    except Exception:  # noqa: BLE001 - gone since the enqueue said it existed: queue it again
        return True
    started = job.started_at.replace(tzinfo=UTC) if job.started_at else None
    if job.get_status() == JobStatus.STARTED and started is not None and started < now - _lease():
        job.delete()
        return True
    return False


def order_mails_reconcile(*, batch: int = 500) -> ReconcileReport:
    """Queue the e-mail of every recent event not sent yet whose job is not queued or running.

    Runs on the queue's scheduler (config/upkeep.py) and as ``manage.py reconcile_order_mails``.
    """
    report, now = ReconcileReport(), timezone.now()
    pending = _collection().find({NOTIFY_PENDING: True}, {"seq": 1, "events": 1, NOTIFICATIONS: 1}).limit(batch)
    for document in pending:
        undone = _undone_seqs(document, now)
        if not undone:
            _collection().update_one(
                {"_id": document["_id"], "seq": document["seq"]}, {"$set": {NOTIFY_PENDING: False}}
            )
            report.orders_done += 1
            continue
        states = document.get(NOTIFICATIONS) or {}
        for seq in undone:
            state = states.get(f"s{seq}") or {}
            if state.get("state") == SENDING and _aware(state["until"]) > now:
                report.waiting += 1
                continue
            job_id = mail_job_id(document["_id"], seq)
            args = (str(document["_id"]), seq)
            job = job_enqueue(JOB, queue=QUEUE_EMAIL, args=args, job_id=job_id, retry=email_retry())
            if job is None and _requeue_if_abandoned(job_id, now):
                job = job_enqueue(JOB, queue=QUEUE_EMAIL, args=args, job_id=job_id, retry=email_retry())
            if job is None:
                report.waiting += 1
            else:
                report.queued += 1
                logger.warning("order e-mail %s queued by the reconciliation", job_id)
    return report
