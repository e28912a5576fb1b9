"""The base for every authenticated WebSocket consumer (the orders app builds on it)."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.realtime import CLOSE_BLOCKED, CLOSE_UNAUTHENTICATED, USER_BLOCKED_EVENT, user_group


class UserSocketConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous users and joins the user's group, so a ban closes the socket."""

    user_group_name: str | None = None
    # Channel-layer events whose handlers never touch the database. Channels hops to a worker
    # thread (close_old_connections) before every handler; a push relayed to 1,000 sockets
    # queued 1,000 hops through one thread (docs/benchmarks/push.md), so these go straight in.
    database_free_events: frozenset[str] = frozenset({USER_BLOCKED_EVENT})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run a database-free event's handler directly; anything else the way Channels does."""
        if message.get("type") in self.database_free_events:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        """Accept authenticated users only, then join ``user.<id>``."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.user_group_name, self.channel_name)
        await self.accept()
        await self.user_connected(user)

    async def user_connected(self, user: Any) -> None:
        """Hook for subclasses: join more groups, send the initial state."""

    async def disconnect(self, code: int) -> None:
        """Leave the user's group."""
        if self.user_group_name:
            await self.channel_layer.group_discard(self.user_group_name, self.channel_name)

    async def user_blocked(self, event: dict[str, Any]) -> None:
        """``user.blocked``: the account was blocked or signed out everywhere; close now."""
        await self.close(code=CLOSE_BLOCKED)
