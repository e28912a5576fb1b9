"""The stock side of orders, safe against MongoDB failing halfway (no transactions needed).

Placing an order takes stock product by product, then inserts the order document; cancelling
one changes its status, then puts the units back. MongoDB can fail between those writes. So
every stock movement records a key in the product's ledger (shop/services.py):
``order:<id>:take`` or ``order:<id>:return``, at most once per key, and a cancellation sets
``restock_pending`` on the order in the same update that changes its status. What a failure
leaves behind is therefore visible in the database, and `stock_settle` finishes it:

- a take whose order was never stored is undone (the units go back on sale);
- a take whose order exists is confirmed (the entry is dropped; the units are sold);
- a cancellation whose units were not all returned gets the rest back.

`stock_settle` only touches movements older than ``STOCK_HOLD_TIMEOUT_SECONDS``; order_place
gives up on inserting an order well before that (`insert_deadline_seconds`), so it never
undoes the stock of an order that is still being written. It runs every
``STOCK_SETTLE_INTERVAL_SECONDS`` on the job queue's scheduler (config/upkeep.py) and as
``manage.py settle_stock``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from pymongo.errors import PyMongoError

from orders.models import Order, OrderStatus
from shop.selectors import stock_ledger_entries
from shop.services import product_stock_confirm, product_stock_return, product_stock_undo

logger = logging.getLogger(__name__)

RESTOCK_PENDING = "restock_pending"  # raw field of order documents, set by a cancellation
DATABASE_ERRORS = (DatabaseError, PyMongoError)


def take_key(order_id: object) -> str:
    return f"order:{order_id}:take"


def return_key(order_id: object) -> str:
    return f"order:{order_id}:return"


def _order_id_of(key: str) -> tuple[ObjectId, str] | None:
    parts = key.split(":")
    if len(parts) != 3 or parts[0] != "order" or not ObjectId.is_valid(parts[1]):
        return None
    return ObjectId(parts[1]), parts[2]


def hold_timeout() -> timedelta:
    return timedelta(seconds=settings.STOCK_HOLD_TIMEOUT_SECONDS)


def insert_deadline_seconds() -> float:
    """How long after its first take an order may still start being inserted."""
    return settings.STOCK_HOLD_TIMEOUT_SECONDS / 2


def insert_timeout_seconds() -> float:
    """The longest an order insert may take (pymongo gives up after it)."""
    return settings.STOCK_HOLD_TIMEOUT_SECONDS / 4


def takes_undo(*, order_id: ObjectId, taken: dict[ObjectId, int]) -> bool:
    """Put back what was taken for an order that was not stored; False if some had to be left to settle."""
    try:
        for product_id, quantity in taken.items():
            product_stock_undo(product_id=product_id, key=take_key(order_id), delta=-quantity)
    except DATABASE_ERRORS as error:
        logger.warning("stock for unplaced order %s left for settling: %r", order_id, error)
        return False
    return True


def takes_confirm(*, order_id: ObjectId, product_ids: Iterable[ObjectId]) -> None:
    """Drop the take entries of a stored order (best effort: settling drops any left)."""
    try:
        product_stock_confirm(product_ids=product_ids, key=take_key(order_id))
    except DATABASE_ERRORS as error:
        logger.warning("take entries of order %s left for settling: %r", order_id, error)


def order_after_failed_insert(*, order_id: ObjectId, taken: dict[ObjectId, int]) -> Order | None:
    """After an insert raised: the order if it was stored after all, else None (its stock put back).

    A network error leaves the outcome unknown, so look before giving the stock back. If even
    that read fails, the take entries stay and `stock_settle` decides once MongoDB answers.
    """
    try:
        order = Order.objects.filter(pk=order_id).first()
    except DATABASE_ERRORS as error:
        logger.warning("order %s may or may not be stored; its stock is left for settling: %r", order_id, error)
        return None
    if order is not None:
        takes_confirm(order_id=order_id, product_ids=taken)
        return order
    takes_undo(order_id=order_id, taken=taken)
    return None


def restock(*, order: Order) -> None:
    """Return a cancelled order's units (each product at most once), then clear its flag."""
    key = return_key(order.pk)
    quantities: dict[ObjectId, int] = {}
    for line in order.lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    for product_id, quantity in quantities.items():
        product_stock_return(product_id=product_id, quantity=quantity, key=key)
    connection.get_collection(Order._meta.db_table).update_one({"_id": order.pk}, {"$unset": {RESTOCK_PENDING: ""}})
    product_stock_confirm(product_ids=quantities, key=key)


@dataclass
class SettleReport:
    takes_undone: int = 0
    takes_confirmed: int = 0
    restocks_finished: int = 0
    returns_confirmed: int = 0

    @property
    def changed(self) -> int:
        return self.takes_undone + self.takes_confirmed + self.restocks_finished + self.returns_confirmed


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment  # pymongo: naive UTC


def stock_settle(*, older_than: timedelta | None = None) -> SettleReport:
    """Finish every stock movement a failure left half done (see the module docstring)."""
    cutoff = timezone.now() - (hold_timeout() if older_than is None else older_than)
    report = SettleReport()
    orders = connection.get_collection(Order._meta.db_table)
    for document in orders.find({RESTOCK_PENDING: True}, {"_id": 1, "updated_at": 1}):
        if _aware(document["updated_at"]) >= cutoff:
            continue  # the cancelling request may still be returning the units
        order = Order.objects.get(pk=document["_id"])
        if order.status == OrderStatus.CANCELLED:
            restock(order=order)
            report.restocks_finished += 1

    movements = []  # (order id, "take" or "return", product id, delta)
    for product_id, entry in stock_ledger_entries(recorded_before=cutoff):
        if parsed := _order_id_of(entry["key"]):
            movements.append((*parsed, product_id, int(entry["delta"])))
    order_ids = list({movement[0] for movement in movements})
    stored = set(Order.objects.filter(pk__in=order_ids).values_list("pk", flat=True))
    restocking = {doc["_id"] for doc in orders.find({"_id": {"$in": order_ids}, RESTOCK_PENDING: True}, {"_id": 1})}
    for order_id, kind, product_id, delta in movements:
        if kind == "take" and order_id not in stored:
            report.takes_undone += product_stock_undo(product_id=product_id, key=take_key(order_id), delta=delta)
        elif kind == "take":
            product_stock_confirm(product_ids=[product_id], key=take_key(order_id))
            report.takes_confirmed += 1
        elif kind == "return" and order_id not in restocking:
            product_stock_confirm(product_ids=[product_id], key=return_key(order_id))
            report.returns_confirmed += 1
    if report.changed:
        logger.warning("stock settled after a failure: %s", report)
    return report
