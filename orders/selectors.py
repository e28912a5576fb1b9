"""Reads of orders, always from MongoDB (orders are never served stale from a cache)."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from django.db.models import QuerySet

from accounts.models import User
from orders.models import Order, OrderEvent, OrderStatus

RECENT_ORDERS = 50


def order_for_user(*, user: User, number: str) -> Order | None:
    """The order with ``number`` if ``user`` may see it (its owner, or staff); None otherwise."""
    order = Order.objects.filter(number=number[:20]).first()
    if order is None or not (user.is_staff or order.user_id == user.pk):
        return None
    return order


def order_by_id_for_user(*, user: User, order_id: str) -> Order | None:
    """As order_for_user, by id; unknown, malformed and other people's ids all give None."""
    try:
        pk = ObjectId(order_id)
    except (InvalidId, TypeError):
        return None
    order = Order.objects.filter(pk=pk).first()
    if order is None or not (user.is_staff or order.user_id == user.pk):
        return None
    return order


def orders_of_user(*, user: User, limit: int = RECENT_ORDERS) -> QuerySet[Order]:
    """The user's orders, newest first."""
    return Order.objects.filter(user=user).order_by("-created_at")[:limit]


def orders_pending_count(*, user: User) -> int:
    """How many of the user's orders are waiting for payment (each holds its units)."""
    return Order.objects.filter(user=user, status=OrderStatus.PENDING).count()


def orders_recent(*, limit: int = RECENT_ORDERS, status: str | None = None) -> QuerySet[Order]:
    """The newest orders of every customer (staff dashboard)."""
    orders = Order.objects.all()
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-created_at")[:limit]


def order_events_since(*, order: Order, seq: int) -> list[OrderEvent]:
    """The timeline entries after ``seq``, in order (what a reconnecting page missed)."""
    return [event for event in sorted(order.events, key=lambda e: e.seq) if event.seq > seq]


def orders_list(*, user: User, status: str | None = None, email: str | None = None) -> QuerySet[Order]:
    """Orders ``user`` may list: their own, or everyone's for staff (who may filter by e-mail)."""
    orders = Order.objects.all() if user.is_staff else Order.objects.filter(user=user)
    if status:
        orders = orders.filter(status=status)
    if email and user.is_staff:
        orders = orders.filter(email=email)
    return orders.order_by("-created_at", "-pk")


def orders_overdue(*, now: datetime, limit: int) -> QuerySet[Order]:
    """Pending orders whose time to pay ran out by ``now``, oldest deadline first (index order_status_pay_by)."""
    return Order.objects.filter(status=OrderStatus.PENDING, pay_by__lte=now).order_by("pay_by")[:limit]
