"""The base for every authenticated WebSocket consumer (the orders app builds on it)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from accounts.realtime import CLOSE_BLOCKED, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHENTICATED, user_group

logger = logging.getLogger(__name__)


class UserSocketConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous users and joins the user's group, so a ban closes the socket."""

    user_group_name: str | None = None
    accepted: bool = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve the socket; if the channel layer's Redis fails, close it with 1013 (try again later).

        Without this the consumer dies with the Redis error and the client sees the TCP
        connection drop (1006); with it, the page gets a proper close and reconnects, and the
        server logs one line instead of a traceback.
        """
        try:
            await super().__call__(scope, receive, send)
        except RedisError as error:
            logger.warning("closing %s: the channel layer is unavailable: %s", scope.get("path", "socket"), error)
            with contextlib.suppress(Exception):  # the client may be gone already
                if not self.accepted:
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    async def connect(self) -> None:
        """Accept authenticated users only, then join ``user.<id>``."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.user_group_name, self.channel_name)
        await self.accept()
        self.accepted = True
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
