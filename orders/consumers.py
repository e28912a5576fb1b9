"""Live order pages. Thin: join groups on connect, answer a resync, relay pushes.

Protocol (docs/api.md): after connecting, the page sends ``{"type": "resync", "since": N}``
with the last ``seq`` it saw (0 for none) and gets what it missed from MongoDB; pushes follow
as ``{"type": "order.changed", "order": {...}}``. A page that sees a gap in ``seq`` resyncs.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation

from accounts.consumers import UserSocketConsumer
from common.fanout import group_fanout
from common.loop_local import LoopLocal
from common.shared_read import SharedRead
from orders import events, selectors

CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403
MAX_MESSAGE_BYTES = 4096
ERROR_BAD_MESSAGE = 'Send JSON like {"type": "resync", "since": 0}.'


def _socket_language(scope: dict[str, Any]) -> str:
    """The page's language: the language cookie, else Accept-Language, else the default."""
    cookie = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME)
    if cookie and translation.check_for_language(cookie):
        return cookie
    headers = dict(scope.get("headers", []))
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for entry in accept.split(","):
        code = entry.split(";")[0].strip().lower()
        if code and translation.check_for_language(code):
            return translation.get_supported_language_variant(code)
    return settings.LANGUAGE_CODE


class _OrderSocket(UserSocketConsumer):
    language: str = settings.LANGUAGE_CODE
    database_free_events = UserSocketConsumer.database_free_events | {events.ORDER_CHANGED}

    async def user_connected(self, user: Any) -> None:
        self.language = _socket_language(self.scope)

    def localised(self, order: dict[str, Any]) -> dict[str, Any]:
        """``order`` with its status label in this page's language."""
        return events.order_in_language(order, self.language)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse a small JSON message; anything else gets an error message, not a crash."""
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self.send_json({"type": "error", "message": ERROR_BAD_MESSAGE})
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("type") != "resync":
            await self.send_json({"type": "error", "message": ERROR_BAD_MESSAGE})
            return
        since = message.get("since", 0)
        await self.resync(since if isinstance(since, int) and since >= 0 else 0)

    async def resync(self, since: int) -> None:
        """Send the state the page missed."""
        raise NotImplementedError

    async def order_changed(self, event: dict[str, Any]) -> None:
        """``order.changed`` from orders/events.py: relay the text already encoded for this language."""
        await self.send(text_data=events.order_changed_text(event, self.language))


class OrderConsumer(_OrderSocket):
    """``/ws/orders/<order_id>/``: one order's status and timeline, for its owner and staff."""

    order_id: str = ""

    async def user_connected(self, user: Any) -> None:
        await super().user_connected(user)
        order = await database_sync_to_async(selectors.order_by_id_for_user)(
            user=user, order_id=self.scope["url_route"]["kwargs"]["order_id"]
        )
        if order is None:  # unknown and other people's orders look the same
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.order_id = str(order.pk)
        # Join before any read, so nothing falls between the resync and the first push.
        await self.channel_layer.group_add(events.order_group(self.order_id), self.channel_name)

    async def resync(self, since: int) -> None:
        order, missed = await database_sync_to_async(self._missed)(since)
        await self.send_json({"type": "order.resync", "order": self.localised(order), "events": missed})

    def _missed(self, since: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        order = selectors.order_by_id_for_user(user=self.scope["user"], order_id=self.order_id)
        if order is None:
            return {}, []
        return events.order_payload(order), [
            events.event_payload(event) for event in selectors.order_events_since(order=order, seq=since)
        ]

    async def disconnect(self, code: int) -> None:
        if self.order_id:
            await self.channel_layer.group_discard(events.order_group(self.order_id), self.channel_name)
        await super().disconnect(code)


class OrderListConsumer(_OrderSocket):
    """``/ws/orders/``: the signed-in shopper's own orders."""

    async def user_connected(self, user: Any) -> None:
        await super().user_connected(user)
        await self.channel_layer.group_add(events.owner_group(user.pk), self.channel_name)

    async def resync(self, since: int) -> None:
        orders = await database_sync_to_async(self._orders)()
        await self.send_json({"type": "orders.resync", "orders": [self.localised(order) for order in orders]})

    def _orders(self) -> list[dict[str, Any]]:
        return [events.order_payload(order) for order in selectors.orders_of_user(user=self.scope["user"])]

    async def disconnect(self, code: int) -> None:
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.channel_layer.group_discard(events.owner_group(user.pk), self.channel_name)
        await super().disconnect(code)


class StaffOrdersConsumer(_OrderSocket):
    """``/ws/staff/orders/``: every customer's recent orders, for staff only."""

    async def user_connected(self, user: Any) -> None:
        await super().user_connected(user)
        if not user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Every staff page shares one membership per server process (common/fanout.py).
        await group_fanout(events.STAFF_GROUP).subscribe(self)

    async def resync(self, since: int) -> None:
        # Every staff page gets the same recent orders: pages that ask together share one read
        # (common/shared_read.py), which starts after each of them joined the staff group.
        orders = await _recent_orders.get().get()
        await self.send_json({"type": "orders.resync", "orders": [self.localised(order) for order in orders]})

    async def disconnect(self, code: int) -> None:
        group_fanout(events.STAFF_GROUP).unsubscribe(self)
        await super().disconnect(code)


def _recent_order_payloads() -> list[dict[str, Any]]:
    return [events.order_payload(order) for order in selectors.orders_recent()]


_recent_orders: LoopLocal[SharedRead[list[dict[str, Any]]]] = LoopLocal(
    lambda: SharedRead(database_sync_to_async(_recent_order_payloads))
)
