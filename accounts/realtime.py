"""Per-user WebSocket groups: every authenticated socket joins ``user.<id>``, so a ban
can close all of a user's sockets at once (accounts/consumers.py handles the event)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

USER_BLOCKED_EVENT = "user.blocked"
# Application close codes (4000-4999), documented in docs/api.md.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BLOCKED = 4403
CLOSE_TOO_MANY_MESSAGES = 4429
# RFC 6455's registry: "Try Again Later". Sent when Redis (the channel layer) fails under a socket.
CLOSE_TRY_AGAIN_LATER = 1013


def user_group(user_id: object) -> str:
    """The channel-layer group holding every socket of one user."""
    return f"user.{user_id}"


def user_sockets_close(*, user_id: object, reason: str = "blocked") -> None:
    """Ask every open socket of the user to close (best effort: sockets also re-check on reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(user_group(user_id), {"type": USER_BLOCKED_EVENT, "reason": reason})
