"""Writes on orders: placing an order and every status change (docs/architecture.md, "How a status change flows")."""

from __future__ import annotations

import copy
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pymongo
from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from orders import events, notifications, selectors, stock
from orders.models import TRANSITIONS, EventReason, Order, OrderEvent, OrderLine, OrderStatus, ShippingAddress
from orders.pending_badge import pending_orders_badge_forget
from shop.models import Product
from shop.services import product_stock_take

logger = logging.getLogger(__name__)

MAX_LINES = 50
MAX_QUANTITY = 99
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class OrderError(ValueError):
    """A request about orders that cannot be honoured; ``message`` says why, for a person."""

    code = "order_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyCart(OrderError):
    code = "empty_cart"


class InvalidLine(OrderError):
    code = "invalid_line"


class OutOfStock(OrderError):
    code = "out_of_stock"


class IllegalTransition(OrderError):
    code = "illegal_transition"


class PaymentExpired(OrderError):
    code = "payment_expired"


class TooManyPendingOrders(OrderError):
    code = "too_many_pending_orders"


PAYMENT_EXPIRED = gettext_lazy(
    "The time to pay for order %(number)s has run out: it is cancelled and its units are back on sale. "
    "Place a new order to buy them."
)
NO_LONGER_IN_STATUS = gettext_lazy("Order %(number)s is no longer %(expected)s.")


def _too_many_pending(count: int) -> str:
    return ngettext(
        "You already have %(count)d order waiting for payment. Pay for or cancel it before placing another.",
        "You already have %(count)d orders waiting for payment. Pay for or cancel one of them before placing another.",
        count,
    ) % {"count": count}


@dataclass(frozen=True)
class CartLine:
    product_id: str
    quantity: int


def _normalise_lines(lines: Sequence[CartLine]) -> dict[ObjectId, int]:
    if not lines:
        raise EmptyCart(_("Your cart is empty: add a product before checking out."))
    if len(lines) > MAX_LINES:
        raise InvalidLine(_("An order can have at most %(max)d different products.") % {"max": MAX_LINES})
    merged: dict[ObjectId, int] = {}
    for line in lines:
        try:
            product_id = ObjectId(str(line.product_id))
        except (InvalidId, TypeError):
            raise InvalidLine(_("“%(id)s” is not a product id.") % {"id": str(line.product_id)[:40]}) from None
        merged[product_id] = merged.get(product_id, 0) + int(line.quantity)
    for quantity in merged.values():
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidLine(_("Quantities must be from 1 to %(max)d.") % {"max": MAX_QUANTITY})
    return merged


def _new_number() -> str:
    stamp = timezone.now().strftime("%y%m%d")
    return f"T{stamp}-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))


def order_place(*, user: User, lines: Sequence[CartLine], address: ShippingAddress) -> Order:
    """Create a pending order, taking stock product by product with conditional updates.

    Refused when the user already has MAX_PENDING_ORDERS_PER_USER orders waiting for payment.
    Two shoppers cannot both buy the last unit: each take is one ``stock >= n`` update. If a
    line cannot be served, every unit already taken is put back and nothing is written. If
    MongoDB fails halfway, what was taken is recorded in the products' ledgers and put back
    (or confirmed, when the order was stored after all) by orders.stock.
    """
    wanted = _normalise_lines(lines)
    # Each pending order holds units for the payment window: a cap keeps one account from
    # holding a product off sale by ordering again and again (checked before any stock is taken;
    # checkouts of one account racing each other can pass it together).
    pending = selectors.orders_pending_count(user=user)
    if pending >= settings.MAX_PENDING_ORDERS_PER_USER:
        raise TooManyPendingOrders(_too_many_pending(pending))
    products = {p.pk: p for p in Product.objects.filter(pk__in=list(wanted), is_active=True)}
    for product_id in wanted:
        if product_id not in products:
            raise InvalidLine(_("A product in your cart is no longer for sale. Remove it and try again."))
    address.full_clean()
    order_id = ObjectId()  # known before the first take: the ledger entries name it
    started = time.monotonic()
    taken: dict[ObjectId, int] = {}
    try:
        for product_id, quantity in wanted.items():
            if not product_stock_take(product_id=product_id, quantity=quantity, key=stock.take_key(order_id)):
                raise _out_of_stock(products[product_id])
            taken[product_id] = quantity
        if time.monotonic() - started > stock.insert_deadline_seconds():
            raise OrderError(_("We could not place your order. Please try again."))
    except BaseException:
        stock.takes_undo(order_id=order_id, taken=taken)
        raise
    try:
        with pymongo.timeout(stock.insert_timeout_seconds()):
            order = _insert_order(order_id=order_id, user=user, wanted=wanted, products=products, address=address)
    except BaseException:
        order = stock.order_after_failed_insert(order_id=order_id, taken=taken)
        if order is None:
            raise
    stock.takes_confirm(order_id=order_id, product_ids=taken)
    pending_orders_badge_forget(user_id=user.pk)
    events.publish_order_changed(order, order.events[-1])
    notifications.order_event_mail_enqueue(order=order, event=order.events[-1])
    return order


def _out_of_stock(product: Product) -> OutOfStock:
    available = Product.objects.filter(pk=product.pk).values_list("stock", flat=True).first() or 0
    if available:
        return OutOfStock(
            _("Only %(available)d of “%(name)s” left: lower the quantity and try again.")
            % {"available": available, "name": product.name}
        )
    message = _("“%(name)s” has just sold out. Remove it from your cart and try again.")
    return OutOfStock(message % {"name": product.name})


def _insert_order(
    *,
    order_id: ObjectId,
    user: User,
    wanted: dict[ObjectId, int],
    products: dict[ObjectId, Product],
    address: ShippingAddress,
) -> Order:
    now = _now_as_stored()
    order_lines = [
        OrderLine(
            product_id=product_id,
            sku=products[product_id].sku,
            name=products[product_id].name,
            unit_price=products[product_id].price,
            quantity=quantity,
        )
        for product_id, quantity in wanted.items()
    ]
    total = sum((line.line_total for line in order_lines), Decimal("0.00"))
    currency = next(iter(products.values())).currency
    created = OrderEvent(seq=1, from_status="", to_status=OrderStatus.PENDING, actor_email=user.email, at=now)
    pay_by = now + payment_window()
    for _attempt in range(5):
        order = Order(
            pk=order_id, number=_new_number(), user=user, email=user.email, status=OrderStatus.PENDING, seq=1,
            currency=currency, total=total, lines=order_lines, address=address, events=[created], created_at=now,
            updated_at=now, pay_by=pay_by, notify_pending=True,
        )  # fmt: skip
        try:
            order.save(force_insert=True)  # one document: the order exists whole or not at all
        except IntegrityError:
            continue  # the random number was taken: draw another
        return order
    raise OrderError(_("We could not place your order. Please try again."))


def order_transition_refusal(*, order: Order, to: str) -> str | None:
    """Why ``order`` cannot move to ``to`` (a message for people), or None when it can."""
    if to in TRANSITIONS[order.status]:
        return None
    return _("Order %(number)s is %(current)s; it cannot become %(wanted)s.") % {
        "number": order.number,
        "current": order.get_status_display(),
        "wanted": OrderStatus(to).label if to in OrderStatus.values else to,
    }


def order_status_change(
    *, order: Order, to: str, actor: User | None, reason: str = "", only_from: str | None = None
) -> Order:
    """Move ``order`` to ``to`` if the state machine allows it; record, restock, publish.

    The status, the sequence number and the new timeline entry change in one conditional
    update of the order document, so concurrent changes cannot both win or skip a number.
    ``only_from`` refuses unless the order is (still) in that status: a change decided on an
    order's old state, like cancelling it as unpaid, must not apply to whatever it became.
    """
    if to not in OrderStatus.values:
        raise IllegalTransition(_("“%(status)s” is not an order status.") % {"status": str(to)[:30]})
    for _attempt in range(3):
        if only_from is not None and order.status != only_from:
            expected = OrderStatus(only_from).label
            raise IllegalTransition(str(NO_LONGER_IN_STATUS) % {"number": order.number, "expected": expected})
        refusal = order_transition_refusal(order=order, to=to)
        if refusal:
            raise IllegalTransition(refusal)
        event = OrderEvent(
            seq=order.seq + 1, from_status=order.status, to_status=to,
            actor_email=actor.email if actor else "system", at=_now_as_stored(), reason=reason,
        )  # fmt: skip
        result = connection.get_collection(Order._meta.db_table).update_one(
            {"_id": order.pk, "status": order.status, "seq": _db_value("seq", order.seq)},
            {
                "$set": {
                    "status": to,
                    "seq": _db_value("seq", event.seq),
                    "updated_at": event.at,
                    notifications.NOTIFY_PENDING: True,  # with the event, so its e-mail is never forgotten
                    # Cleared once every unit is back: a failure in between leaves it for stock_settle.
                    **({stock.RESTOCK_PENDING: True} if to == OrderStatus.CANCELLED else {}),
                },
                "$push": {"events": _event_document(event)},
            },
        )
        if result.modified_count == 1:
            if OrderStatus.PENDING in (order.status, to):
                pending_orders_badge_forget(user_id=order.user_id)
            changed = _with_event(order, event)
            if to == OrderStatus.CANCELLED:
                try:
                    stock.restock(order=changed)
                except stock.DATABASE_ERRORS as error:  # the cancellation stands; stock_settle finishes it
                    logger.warning("units of cancelled order %s left for settling: %r", order.number, error)
            # The conditional update matched this status and seq, so ``changed`` is what MongoDB
            # now holds: push it first, then read the document back for the caller.
            events.publish_order_changed(changed, event)
            notifications.order_event_mail_enqueue(order=changed, event=event)
            return Order.objects.get(pk=order.pk)
        order = Order.objects.get(pk=order.pk)  # someone changed it first: decide again on fresh state
    raise OrderError(_("Order %(number)s is changing right now. Try again.") % {"number": order.number})


def _now_as_stored() -> datetime:
    # MongoDB keeps milliseconds: a pushed timeline entry then equals the one a resync reads.
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _with_event(order: Order, event: OrderEvent) -> Order:
    """A copy of ``order`` as the status change left it (the caller's instance is not touched)."""
    changed = copy.copy(order)
    changed.status, changed.seq, changed.updated_at = event.to_status, event.seq, event.at
    changed.events = [*order.events, event]
    return changed


def _db_value(field_name: str, value: object) -> object:
    # As the backend stores it (integers are Int64): mongoeco's SQLite engine, unlike MongoDB,
    # does not match an int32 filter against a stored Int64.
    return Order._meta.get_field(field_name).get_db_prep_value(value, connection)


def _event_document(event: OrderEvent) -> dict[str, Any]:
    # The embedded document exactly as django-mongodb-backend stores an OrderEvent.
    return {
        field.column: field.get_db_prep_value(getattr(event, field.attname), connection)
        for field in OrderEvent._meta.concrete_fields
        if not field.primary_key
    }


def order_pay(*, order: Order, actor: User) -> Order:
    """The payment step a gateway would replace: pending -> paid, refused once the deadline has passed."""
    if order.status == OrderStatus.PENDING and order_payment_overdue(order=order):
        # What the expiry job would do at its next round: the units go back on sale now.
        order_expire(order=order)
        current = Order.objects.get(pk=order.pk)
        if current.status == OrderStatus.CANCELLED:
            raise PaymentExpired(str(PAYMENT_EXPIRED) % {"number": order.number})
        order = current  # changed by someone else meanwhile: the state machine says why it cannot be paid
    return order_status_change(order=order, to=OrderStatus.PAID, actor=actor)


def order_cancel(*, order: Order, actor: User) -> Order:
    """Cancel a pending or paid order; its units go back on sale."""
    return order_status_change(order=order, to=OrderStatus.CANCELLED, actor=actor)


# --- The payment window: unpaid orders stop holding stock ----------------------------------------


def payment_window() -> timedelta:
    """How long a pending order holds its units (ORDER_PAYMENT_WINDOW_MINUTES)."""
    return timedelta(minutes=settings.ORDER_PAYMENT_WINDOW_MINUTES)


def order_payment_overdue(*, order: Order, now: datetime | None = None) -> bool:
    """True when ``order`` is pending and its time to pay has run out."""
    due = order.payment_due
    return due is not None and due <= (now or timezone.now())


def order_expire(*, order: Order) -> Order | None:
    """Cancel ``order`` as unpaid, by the system; None if it was no longer pending (paid or cancelled first)."""
    try:
        return order_status_change(
            order=order, to=OrderStatus.CANCELLED, actor=None, reason=EventReason.PAYMENT_EXPIRED,
            only_from=OrderStatus.PENDING,
        )  # fmt: skip
    except IllegalTransition:
        return None


@dataclass
class ExpiryReport:
    expired: int = 0
    already_changed: int = 0  # paid or cancelled between the query and the update (another process, the shopper)


def orders_expire_overdue(*, now: datetime | None = None, batch: int = 200) -> ExpiryReport:
    """Cancel every pending order whose deadline has passed, ``batch`` at a time.

    Runs on the job queue's scheduler (config/upkeep.py) and as ``manage.py expire_orders``.
    Safe to run in several processes at once: each cancellation is the conditional update of
    order_status_change, so an order is cancelled, restocked and pushed exactly once.
    """
    report = ExpiryReport()
    cutoff = now or timezone.now()
    while True:
        overdue = list(selectors.orders_overdue(now=cutoff, limit=batch))
        expired_before = report.expired
        for order in overdue:
            if order_expire(order=order) is None:
                report.already_changed += 1
            else:
                report.expired += 1
        if len(overdue) < batch or report.expired == expired_before:
            break  # done, or the rest is another process's to finish
    if report.expired:
        logger.info("expired unpaid orders: %s", report)
    return report
