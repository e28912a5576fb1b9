"""Order e-mails: at most one per order event (placed, paid, shipped, delivered, cancelled).

The order document is the record. The write that adds an event (orders/services.py) also sets
``notify_pending``; then the event's job is queued (``order-mail-<order id>-<seq>``, unique, on
the ``email`` queue). Each event has a state under ``notifications.s<seq>`` in the order, moved
only by conditional updates, so two jobs can never both be sending one event:

1. **claimed**: the job takes the event if it has no state, or if it is claimed by a worker whose
   lease (``until``, ORDER_EMAIL_LEASE_SECONDS) ran out; then it renders the message and opens
   the SMTP connection, and the server takes the sender and the recipient.
2. **handing_over**: recorded just before ``DATA`` (common/mail.py), on the claim's token. From
   here on the server may end up with the message, so nothing sends this event again.
3. **sent** after the server's 250; **failed** when the server refused the address or the
   message for good (a 5xx); **unknown** ("delivery unknown") when the hand-over began and no
   answer came: the connection broke, the answer timed out, or the worker died (its lease ran
   out in ``handing_over``). Those three are final; ``notify_pending`` is cleared once every
   event is final, and ``notify_unknown`` marks orders with an event in ``unknown``.

Before the hand-over, a failure changes nothing that matters: a temporary one (no connection, a
4xx answer) gives the claim back and RQ retries the job with backoff (EMAIL_RETRY_DELAYS); a
worker that dies leaves a claim whose lease runs out, and `order_mails_reconcile` queues the
event again. It also queues events whose job was never queued (Redis down, a crash after the
write). So every event is e-mailed once, late rather than never, unless the hand-over began
and its outcome is unknown: then it is e-mailed once or not at all, and staff see "delivery
unknown" on the order. Events older than ``MAX_EVENT_AGE`` are not e-mailed late.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
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
from common.mail import MailDeferred, MailRejected, mail_render, mail_send
from orders import events
from orders.models import EventReason, Order, OrderEvent, OrderStatus

logger = logging.getLogger(__name__)

JOB = "orders.jobs.order_event_mail"
MAX_EVENT_AGE = timedelta(days=3)  # an e-mail about something older says nothing the order page does not
# The request that stores an event queues its job a few milliseconds later (after its push): a
# reconciliation in between would queue it too and push the order again. Younger events wait.
IN_FLIGHT = timedelta(seconds=2)
NOTIFY_PENDING = "notify_pending"
NOTIFY_UNKNOWN = "notify_unknown"
NOTIFICATIONS = "notifications"
CLAIMED, HANDING_OVER, SENT, FAILED, UNKNOWN = "claimed", "handing_over", "sent", "failed", "unknown"
FINAL = (SENT, FAILED, UNKNOWN)
REASON_WORKER_DIED = "the worker stopped during the hand-over to the mail server"

# What the job did, for its result and log line.
OUTCOME_SENT = "sent"
OUTCOME_DONE_BEFORE = "already sent or given up"
OUTCOME_BUSY = "another worker is sending it"
OUTCOME_GONE = "no such order or event"
OUTCOME_UNKNOWN = "delivery unknown"


class _ClaimLost(Exception):
    """The claim's lease ran out and another job took the event before the hand-over."""


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


# --- The event's state in the order document ------------------------------------------------


def _claim(*, order_id: ObjectId, seq: int, token: str) -> bool:
    path, now = _state_path(seq), timezone.now()
    result = _collection().update_one(
        {
            "_id": order_id,
            "$or": [
                {f"{path}.state": {"$exists": False}},
                {f"{path}.state": CLAIMED, f"{path}.until": {"$lte": now}},
            ],
        },
        {
            "$set": {f"{path}.state": CLAIMED, f"{path}.token": token, f"{path}.until": now + _lease()},
            "$inc": {f"{path}.attempts": 1},
        },
    )
    return result.modified_count == 1


def _hand_over(*, order_id: ObjectId, seq: int, token: str) -> bool:
    """``claimed`` → ``handing_over``, only while this job still holds the claim."""
    path = _state_path(seq)
    result = _collection().update_one(
        {"_id": order_id, f"{path}.token": token, f"{path}.state": CLAIMED},
        {"$set": {f"{path}.state": HANDING_OVER, f"{path}.until": timezone.now() + _lease()}},
    )
    return result.modified_count == 1


def _final(
    *, order_id: ObjectId, seq: int, state: str, reason: str = "", match: dict[str, Any],
    and_clear_if: dict[str, Any] | None = None,
) -> bool:  # fmt: skip
    """Move the event to a final state where ``match`` holds for it.

    With ``and_clear_if`` (conditions on the order), the update also clears ``notify_pending``,
    and matches only where those hold as well.
    """
    path = _state_path(seq)
    result = _collection().update_one(
        {"_id": order_id, **{f"{path}.{field}": value for field, value in match.items()}, **(and_clear_if or {})},
        {
            "$set": {
                f"{path}.state": state, f"{path}.at": timezone.now(), f"{path}.reason": reason[:300],
                **({NOTIFY_UNKNOWN: True} if state == UNKNOWN else {}),
                **({NOTIFY_PENDING: False} if and_clear_if is not None else {}),
            },
            "$unset": {f"{path}.until": "", f"{path}.token": ""},
        },
    )  # fmt: skip
    return result.modified_count == 1


def _record(*, order_id: ObjectId, seq: int, last_seq: int, token: str, state: str, reason: str = "") -> bool:
    """A final state, only while this job holds the event; then clear ``notify_pending`` if every event is final.

    ``last_seq`` is the order's last event as the job read it. Usually every other event is final
    by then, and one update records the state and clears the flag; otherwise the state is recorded
    alone, and the flag is cleared by a second update if every event is final after all (another
    job finished meanwhile).
    """
    held, others_final = {"token": token}, _all_final(last_seq, but=seq)
    if _final(order_id=order_id, seq=seq, state=state, reason=reason, match=held, and_clear_if=others_final):
        return True
    recorded = _final(order_id=order_id, seq=seq, state=state, reason=reason, match=held)
    _clear_pending_if_done(order_id, last_seq)
    return recorded


def _unknown_if_abandoned(*, order_id: ObjectId, seq: int, now: datetime) -> bool:
    """``handing_over`` whose lease ran out (its worker died) → ``unknown``; True if this call did it."""
    done = _final(
        order_id=order_id, seq=seq, state=UNKNOWN, reason=REASON_WORKER_DIED,
        match={"state": HANDING_OVER, "until": {"$lte": now}},
    )  # fmt: skip
    if done:
        logger.error("order %s event %d: delivery unknown (%s); not sent again", order_id, seq, REASON_WORKER_DIED)
    return done


def _release(*, order_id: ObjectId, seq: int, token: str) -> None:
    """Give the claim back when nothing was delivered, so the retry can take it at once."""
    path = _state_path(seq)
    try:
        _collection().update_one(
            {"_id": order_id, f"{path}.token": token, f"{path}.state": {"$in": [CLAIMED, HANDING_OVER]}},
            {"$unset": {f"{path}.state": "", f"{path}.until": "", f"{path}.token": ""}},
        )
    except Exception:  # MongoDB down: the lease runs out instead, and the reconciliation requeues
        logger.warning("order %s event %d: could not give the claim back", order_id, seq, exc_info=True)


def _state_of(order_id: ObjectId, seq: int) -> dict[str, Any]:
    document = _collection().find_one({"_id": order_id}, {NOTIFICATIONS: 1}) or {}
    return (document.get(NOTIFICATIONS) or {}).get(f"s{seq}") or {}


def _undone_seqs(document: dict[str, Any], now: datetime) -> list[int]:
    """Events of the order document still to e-mail: not in a final state, and not too old."""
    states = document.get(NOTIFICATIONS) or {}
    undone = []
    for event in document.get("events") or []:
        seq = int(event["seq"])
        if (states.get(f"s{seq}") or {}).get("state") in FINAL:
            continue
        if _aware(event["at"]) < now - MAX_EVENT_AGE:
            continue
        undone.append(seq)
    return undone


def _all_final(seq: int, *, but: int = 0) -> dict[str, Any]:
    """The order's conditions: its last event is ``seq``, and events 1..``seq`` (all ``but`` one) are final."""
    return {"seq": seq, **{f"{_state_path(n)}.state": {"$in": list(FINAL)} for n in range(1, seq + 1) if n != but}}


def _clear_pending_if_done(order_id: ObjectId, seq: int) -> None:
    """Clear ``notify_pending`` if events 1..``seq`` are all final and no event came after them.

    One conditional update. Orders it leaves flagged (an event too old to e-mail, a change
    meanwhile) are cleared by the reconciliation, which looks at each event's age.
    """
    _collection().update_one({"_id": order_id, **_all_final(seq)}, {"$set": {NOTIFY_PENDING: False}})


@dataclass(frozen=True)
class MailState:
    """What became of one event's e-mail, for staff (orders/admin.py)."""

    state: str  # "" (not taken yet), or CLAIMED, HANDING_OVER, SENT, FAILED, UNKNOWN
    at: datetime | None
    reason: str
    attempts: int


def order_mail_states(*, order_id: ObjectId) -> dict[int, MailState]:
    """The e-mail state of each event of the order that has one, by seq."""
    document = _collection().find_one({"_id": order_id}, {NOTIFICATIONS: 1}) or {}
    states = {}
    for key, value in (document.get(NOTIFICATIONS) or {}).items():
        if key.startswith("s") and key[1:].isdigit():
            at = _aware(value["at"]) if value.get("at") else None
            attempts = int(value.get("attempts", 0))
            states[int(key[1:])] = MailState(
                state=value.get("state", ""), at=at, reason=value.get("reason", ""), attempts=attempts
            )
    return states


# --- Sending one event's e-mail ----------------------------------------------------------------


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


def _unclaimed_outcome(order_id: ObjectId, seq: int) -> str:
    """Why the claim failed: another job holds the event, or it is final (or becomes so now)."""
    state = _state_of(order_id, seq).get("state")
    if state == HANDING_OVER and _unknown_if_abandoned(order_id=order_id, seq=seq, now=timezone.now()):
        return OUTCOME_UNKNOWN
    return OUTCOME_BUSY if state in (CLAIMED, HANDING_OVER) else OUTCOME_DONE_BEFORE


def order_event_mail_send(*, order_id: str, seq: int) -> str:
    """Send the e-mail of event ``seq`` of the order unless it was sent (see the module docstring).

    Returns what happened (``OUTCOME_*``). Raises `MailRejected` when the server refuses it for
    good (recorded as ``failed``), and the error when nothing was delivered and a retry may work.
    """
    try:
        pk = ObjectId(order_id)
    except (InvalidId, TypeError):
        pk = None
    # Not select_related: the $lookup it becomes costs the embedded MongoDB 20 times two finds.
    order = Order.objects.filter(pk=pk).first() if pk else None
    event = next((e for e in order.events if e.seq == seq), None) if order else None
    if order is None or event is None:
        logger.warning("order e-mail skipped: order %s has no event %s (deleted?)", order_id, seq)
        return OUTCOME_GONE
    token = secrets.token_hex(8)
    if not _claim(order_id=pk, seq=seq, token=token):
        return _unclaimed_outcome(pk, seq)
    handed_over = False

    def hand_over() -> None:
        nonlocal handed_over
        if not _hand_over(order_id=pk, seq=seq, token=token):
            raise _ClaimLost
        handed_over = True

    try:
        template, context = _template_and_context(order, event)
        mail = mail_render(name=template, context=context, language=order.user.language or settings.LANGUAGE_CODE)
        mail_send(to=order.email, mail=mail, message_id=_message_id(order.pk, seq), on_hand_over=hand_over)
    except MailRejected as error:
        _record(order_id=pk, seq=seq, last_seq=order.seq, token=token, state=FAILED, reason=error.reason)
        logger.error(
            "order %s event %d: the mail server refused %s for good: %s", order.number, seq, order.email, error
        )
        raise
    except _ClaimLost:
        logger.warning("order %s event %d: the claim ran out before the hand-over; left to its new holder",
                       order.number, seq)  # fmt: skip
        return OUTCOME_BUSY
    except BaseException as error:
        if not handed_over or isinstance(error, MailDeferred):
            _release(order_id=pk, seq=seq, token=token)  # nothing was delivered: the retry sends it
            raise
        _record(
            order_id=pk, seq=seq, last_seq=order.seq, token=token, state=UNKNOWN,
            reason=f"no answer after the hand-over: {error!r}",
        )  # fmt: skip
        logger.error("order %s event %d: delivery unknown (%r); not sent again", order.number, seq, error)
        if not isinstance(error, Exception):
            raise  # the worker is stopping: let it
        return OUTCOME_UNKNOWN
    if not _record(order_id=pk, seq=seq, last_seq=order.seq, token=token, state=SENT):
        logger.error("order %s event %d: sent, but the claim was lost before it was recorded", order.number, seq)
    return OUTCOME_SENT


# --- Reconciliation: events whose e-mail was never queued, or whose worker died ---------------------


@dataclass
class ReconcileReport:
    queued: int = 0  # jobs queued (never queued before, or queued again after their worker died)
    waiting: int = 0  # just stored, held by a live worker, queued, waiting for a retry, or failed (staff requeue it)
    unknown: int = 0  # hand-overs whose worker died: marked "delivery unknown", not sent again
    orders_done: int = 0  # orders whose flag was cleared
    pushed_again: int = 0  # orders with an e-mail queued here, whose current state was pushed again


def _replaceable(job_id: str, now: datetime, *, order_id: ObjectId, seq: int) -> bool:
    """True when the job ``job_id`` is gone, or done while its event is not, or its worker died
    (started longer than a lease ago), or it was taken from its queue and never started; such a job
    is deleted, so the event can be queued again.

    The event's state is read again after the job's: the reconciliation read the order before, and a
    job that ended since then recorded its outcome before it ended.
    """
    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection(QUEUE_EMAIL))
    except Exception:  # noqa: BLE001 - gone since the enqueue said it existed: queue it again
        return not _settled_or_held(order_id, seq, now)
    status = job.get_status()
    started = job.started_at.replace(tzinfo=UTC) if job.started_at else None
    stuck = status == JobStatus.QUEUED and _taken_and_never_started(job, now)
    if (
        status == JobStatus.FINISHED
        or (status == JobStatus.STARTED and started is not None and started < now - _lease())
        or stuck
    ) and not _settled_or_held(order_id, seq, now):
        job.delete()
        if stuck:  # a worker's start takes it off the intermediate list; this one never started
            django_rq.get_queue(QUEUE_EMAIL).intermediate_queue.remove(job.id)
        return True
    return False


def _held(state: dict[str, Any], now: datetime) -> bool:
    """A worker's claim on the event (``state``, from the order) whose lease has not run out."""
    return state.get("state") in (CLAIMED, HANDING_OVER) and _aware(state["until"]) > now


def _settled_or_held(order_id: ObjectId, seq: int, now: datetime) -> bool:
    """The event's e-mail is final, or a live claim holds it (read now, from the order)."""
    state = _state_of(order_id, seq)
    return state.get("state") in FINAL or _held(state, now)


def _taken_and_never_started(job: Job, now: datetime) -> bool:
    """Queued longer than a lease ago, yet no longer in its queue: a worker took it and lost Redis before
    starting it, as a failover can leave it (RQ keeps such a job in the queue's intermediate list and
    fails it at its next maintenance, up to ten minutes later), or the failover lost the queue's entry."""
    enqueued = job.enqueued_at.replace(tzinfo=UTC) if job.enqueued_at else None
    if enqueued is None or enqueued >= now - _lease():
        return False
    return django_rq.get_queue(QUEUE_EMAIL).get_job_position(job.id) is None


def order_mails_reconcile(*, batch: int = 500, now: datetime | None = None) -> ReconcileReport:
    """Queue the e-mail of every recent event neither final nor held nor just stored (``IN_FLIGHT``),
    settle dead hand-overs, and push again the orders it queued a mail for (``_push_again``).

    Runs on the queue's scheduler (config/upkeep.py) and as ``manage.py reconcile_order_mails``.
    """
    report, now = ReconcileReport(), now or timezone.now()
    queued_orders: list[ObjectId] = []
    for document in _flagged_orders(batch):
        undone = _undone_seqs(document, now)
        if not undone:
            _collection().update_one(
                {"_id": document["_id"], "seq": document["seq"]}, {"$set": {NOTIFY_PENDING: False}}
            )
            report.orders_done += 1
            continue
        states = document.get(NOTIFICATIONS) or {}
        stored_at = {int(event["seq"]): _aware(event["at"]) for event in document["events"]}
        for seq in undone:
            state = states.get(f"s{seq}") or {}
            if _held(state, now):
                report.waiting += 1
                continue
            if state.get("state") == HANDING_OVER:
                report.unknown += _unknown_if_abandoned(order_id=document["_id"], seq=seq, now=now)
                continue
            if stored_at[seq] > now - IN_FLIGHT:
                report.waiting += 1
                continue
            job_id = mail_job_id(document["_id"], seq)
            args = (str(document["_id"]), seq)
            job = job_enqueue(JOB, queue=QUEUE_EMAIL, args=args, job_id=job_id, retry=email_retry())
            if job is None and _replaceable(job_id, now, order_id=document["_id"], seq=seq):
                job = job_enqueue(JOB, queue=QUEUE_EMAIL, args=args, job_id=job_id, retry=email_retry())
            if job is None:
                report.waiting += 1
            else:
                report.queued += 1
                if document["_id"] not in queued_orders:
                    queued_orders.append(document["_id"])
                logger.warning("order e-mail %s queued by the reconciliation", job_id)
    report.pushed_again = _push_again(queued_orders)
    return report


def _flagged_orders(batch: int) -> Iterable[dict[str, Any]]:
    """Orders whose events are not all e-mailed, as the reconciliation reads them: once, at its start."""
    return _collection().find({NOTIFY_PENDING: True}, {"seq": 1, "events": 1, NOTIFICATIONS: 1}).limit(batch)


def _push_again(order_ids: list[ObjectId]) -> int:
    """Push the current state of each order to its open pages again; how many were pushed.

    For the orders the reconciliation had to queue a mail for. Most often the process that stored the
    change stopped before handing its e-mail over (killed, or Redis unreachable); the push it sends just
    before the hand-over may then be lost too, and pages connected to other processes would show the old
    state until they reconnect. A page that had the push keeps it: pages keep the newest ``seq``.
    """
    if not order_ids:
        return 0
    pushed = 0
    for order in Order.objects.filter(pk__in=order_ids):
        if order.events:
            events.push_order_changed(order, order.events[-1])
            pushed += 1
    return pushed
