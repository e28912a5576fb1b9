"""The one place that publishes order changes over the channel layer: views and services never build messages.

Groups: ``order.<id>`` (its detail page), ``orders.user.<id>`` (the owner's list) and
``orders.staff`` (the staff dashboard). Pushes are a courtesy: they are sent after the write
and may be lost (channels-redis drops messages over capacity), so every page resyncs from
the database on (re)connect and whenever it sees a gap in ``seq``.

A push is encoded here, once per site language, not by each of the (maybe thousands of)
sockets that relay it: the message carries the finished texts (docs/benchmarks/push.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.dispatch import Signal
from django.utils import translation

from orders.models import Order, OrderEvent, OrderStatus

logger = logging.getLogger(__name__)

ORDER_CHANGED = "order.changed"  # handled by consumers' order_changed()
STAFF_GROUP = "orders.staff"

# Sent once per stored order event (placing, every status change), after the write and before the
# push, with ``order`` (as the event left it) and ``event``. Receivers must not raise and must stay
# cheap: they run on the request's thread (analytics counts events with it, without orders
# importing analytics). Like the push, a receiver may see an event twice (a retried request).
order_event_stored = Signal()


def order_group(order_id: object) -> str:
    return f"order.{order_id}"


def owner_group(user_id: object) -> str:
    return f"orders.user.{user_id}"


def event_payload(event: OrderEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor_email,
        "at": event.at.isoformat(),
        "reason": event.reason,
    }


def order_payload(order: Order, event: OrderEvent | None = None) -> dict[str, Any]:
    """What a page needs to show an order's new state; ``event`` is the change that led to it."""
    payload: dict[str, Any] = {
        "order_id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "seq": order.seq,
        "email": order.email,
        "total": f"{order.total:.2f}",
        "currency": order.currency,
        "created_at": order.created_at.isoformat(),
        "pay_by": order.payment_due.isoformat() if order.payment_due else None,
    }
    if event is not None:
        payload["event"] = event_payload(event)
    return payload


def order_in_language(payload: dict[str, Any], language: str) -> dict[str, Any]:
    """``payload`` with its status label in ``language`` (payloads carry the writer's)."""
    if not payload or payload.get("status") not in OrderStatus.values:
        return payload
    with translation.override(language):
        return {**payload, "status_label": str(OrderStatus(payload["status"]).label)}


def order_changed_texts(payload: dict[str, Any]) -> dict[str, str]:
    """The ``order.changed`` socket message for ``payload``, JSON-encoded once per site language."""
    return {
        code: json.dumps({"type": ORDER_CHANGED, "order": order_in_language(payload, code)})
        for code, _name in settings.LANGUAGES
    }


def order_changed_text(message: dict[str, Any], language: str) -> str:
    """The text a socket in ``language`` relays for a published ``order.changed`` message."""
    texts = message["texts"]
    return texts.get(language) or texts[settings.LANGUAGE_CODE]


def publish_order_changed(order: Order, event: OrderEvent) -> None:
    """Announce the change (``order_event_stored``), then push it to the order's page, the owner's
    list and the staff dashboard."""
    for receiver, error in order_event_stored.send_robust(sender=Order, order=order, event=event):
        if isinstance(error, Exception):
            logger.warning("%r could not take %s #%s: %r", receiver, order.number, event.seq, error)
    push_order_changed(order, event)


def push_order_changed(order: Order, event: OrderEvent) -> None:
    """Push the change to the order's page, the owner's list and the staff dashboard (no announcement:
    a push sent again must not count the event twice). Pages keep the newest ``seq``, so a push they
    already had changes nothing."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": ORDER_CHANGED, "texts": order_changed_texts(order_payload(order, event))}
    groups = (STAFF_GROUP, order_group(order.pk), owner_group(order.user_id))
    what = f"{order.number} #{event.seq}"
    try:
        async_to_sync(_group_send_all)(layer, groups, message, what=what)
    except Exception as error:  # noqa: BLE001 - the write is done and must stand; pages will resync
        logger.warning("could not push %s: %s", what, error)


async def _group_send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any], *, what: str) -> None:
    # One trip from the request's thread to the event loop for every group, sent concurrently.
    # A group that fails is tried once more: after a Redis restart the pool's old connections
    # fail once each, and the retry goes over a fresh one (tests/faults/test_redis_down.py).
    pending = groups
    for attempt in (1, 2):
        results = await asyncio.gather(*(layer.group_send(g, message) for g in pending), return_exceptions=True)
        failed = [(group, error) for group, error in zip(pending, results, strict=True) if isinstance(error, Exception)]
        if not failed:
            return
        if attempt == 2:
            for group, error in failed:  # the write is done; pages will resync
                logger.warning("could not push %s to %s: %s", what, group, error)
        pending = tuple(group for group, _error in failed)
