"""The base for every authenticated WebSocket consumer (the orders app builds on it)."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.realtime import CLOSE_BLOCKED, CLOSE_UNAUTHENTICATED, user_group


class UserSocketConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous users and joins the user's group, so a ban closes the socket."""

    user_group_name: str | None = None

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
