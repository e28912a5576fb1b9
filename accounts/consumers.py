"""The base for every authenticated WebSocket consumer (the orders app builds on it)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from accounts.realtime import (
    CLOSE_BLOCKED,
    CLOSE_TOO_MANY_MESSAGES,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    CREDENTIAL_ENDED_EVENT,
    USER_BLOCKED_EVENT,
    credential_group,
    user_group,
)
from accounts.socket_slots import socket_slot_claim, socket_slot_forget, socket_slot_release

logger = logging.getLogger(__name__)

# Per connection: a page sends one message per (re)connect and one per gap it sees, so a client
# over this is broken or hostile (each message can cost a MongoDB read). docs/api.md documents it.
MESSAGES_PER_SECOND = 5
MESSAGE_BURST = 20
ERROR_TOO_MANY_MESSAGES = f"Too many messages: at most {MESSAGES_PER_SECOND} a second. Closing (4429)."
# Also the close frame's reason, so it must stay under 123 bytes.
ERROR_TOO_MANY_SOCKETS = "Too many open sockets for this account: at most %d. Close another page first (4429)."


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; ``take`` spends one if there is one."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        """True and one token fewer, or False when the bucket is empty."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class UserSocketConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous users and joins the user's group, so a ban closes the socket.

    A user may hold ``WS_MAX_SOCKETS_PER_USER`` open sockets across every server process
    (accounts/socket_slots.py); one more gets an error message and close 4429. Every client
    message first passes a per-connection rate limit: over it, the client gets an error message
    and the socket closes with 4429.
    """

    user_group_name: str | None = None
    credential_group_name: str | None = None
    accepted: bool = False
    slot_user_id: object = None  # set while this socket holds one of its user's slots

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.message_bucket = TokenBucket(rate=MESSAGES_PER_SECOND, burst=MESSAGE_BURST)
        self.flooded = False

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
        finally:
            if self.slot_user_id is not None:  # however it ended, this process stops renewing its lease
                socket_slot_forget(channel=self.channel_name)

    # Channel-layer events whose handlers never touch the database. Channels hops to a worker
    # thread (close_old_connections) before every handler; a push relayed to 1,000 sockets
    # queued 1,000 hops through one thread (docs/benchmarks/push.md), so these go straight in.
    database_free_events: frozenset[str] = frozenset({USER_BLOCKED_EVENT, CREDENTIAL_ENDED_EVENT})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run a database-free event's handler directly; anything else the way Channels does."""
        if message.get("type") in self.database_free_events:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        """Accept authenticated users under their socket cap only, then join ``user.<id>``."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept, then close: a close before accepting reaches real clients as an HTTP 403 handshake
            # with no close code, so they could not tell "get a new ticket" (4401) from "stop" (4403).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await socket_slot_claim(layer=self.channel_layer, user_id=user.pk, channel=self.channel_name):
            message = ERROR_TOO_MANY_SOCKETS % settings.WS_MAX_SOCKETS_PER_USER
            await self.accept()
            await self.send_json({"type": "error", "message": message})
            await self.close(code=CLOSE_TOO_MANY_SOCKETS, reason=message)
            return
        self.slot_user_id = user.pk
        self.user_group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.user_group_name, self.channel_name)
        self.credential_group_name = self._credential_group()
        if self.credential_group_name:
            await self.channel_layer.group_add(self.credential_group_name, self.channel_name)
        await self.accept()
        self.accepted = True
        await self.user_connected(user)

    async def user_connected(self, user: Any) -> None:
        """Hook for subclasses: join more groups, send the initial state."""

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        """Rate-limit, then hand the message to ``receive``."""
        if self.flooded:
            return  # already closing; messages still in flight are dropped
        if not self.message_bucket.take():
            self.flooded = True
            await self.send_json({"type": "error", "message": ERROR_TOO_MANY_MESSAGES})
            await self.close(code=CLOSE_TOO_MANY_MESSAGES)
            return
        await super().websocket_receive(message)

    def _credential_group(self) -> str | None:
        """The group of the credential this socket was opened with, which logging it out closes."""
        if self.scope.get("auth") == "ticket":
            family = self.scope.get("api_family")
            return credential_group(kind="api", key=family) if family else None
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None)
        return credential_group(kind="site", key=session_key) if session_key else None

    async def disconnect(self, code: int) -> None:
        """Give back the socket's slot; leave the user's and the credential's groups."""
        if self.slot_user_id is not None:
            await socket_slot_release(layer=self.channel_layer, user_id=self.slot_user_id, channel=self.channel_name)
        for group in (self.user_group_name, self.credential_group_name):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def credential_ended(self, event: dict[str, Any]) -> None:
        """``credential.ended``: the API session or site session behind this socket logged out."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def user_blocked(self, event: dict[str, Any]) -> None:
        """``user.blocked``: the account was blocked or signed out everywhere; close now."""
        await self.close(code=CLOSE_BLOCKED)
