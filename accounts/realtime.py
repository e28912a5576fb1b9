"""Per-user WebSocket groups: every authenticated socket joins ``user.<id>``, so a ban
can close all of a user's sockets at once (accounts/consumers.py handles the event)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

USER_BLOCKED_EVENT = "user.blocked"
CREDENTIAL_ENDED_EVENT = "credential.ended"
# Application close codes (4000-4999), documented in docs/api.md.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BLOCKED = 4403
CLOSE_TOO_MANY_MESSAGES = 4429
# The same code for a socket over its user's cap (accounts/socket_slots.py): "too many", slow down.
CLOSE_TOO_MANY_SOCKETS = 4429
# RFC 6455's registry: "Try Again Later". Sent when Redis (the channel layer) fails under a socket.
CLOSE_TRY_AGAIN_LATER = 1013


def user_group(user_id: object) -> str:
    """The channel-layer group holding every socket of one user."""
    return f"user.{user_id}"


def credential_group(*, kind: str, key: str) -> str:
    """The group of the sockets opened with one credential: an API session (``api``, its token
    family) or a site session (``site``, its session key). Logging that credential out closes them."""
    return f"auth.{kind}.{key}"


def credential_sockets_close(*, kind: str, key: str) -> None:
    """Close the sockets opened with one credential, after it was logged out (best effort, like bans)."""
    if key:
        _group_send_best_effort(credential_group(kind=kind, key=key), {"type": CREDENTIAL_ENDED_EVENT})


def user_sockets_close(*, user_id: object, reason: str = "blocked") -> None:
    """Ask every open socket of the user to close (best effort: sockets also re-check on reconnect)."""
    _group_send_best_effort(user_group(user_id), {"type": USER_BLOCKED_EVENT, "reason": reason})


def _group_send_best_effort(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group``; a channel layer Redis cannot reach is logged, not raised. The revocation
    it follows is already stored, and the sockets lose that channel layer too: each closes (CLOSE_TRY_AGAIN_LATER)
    and checks its credential again when it reconnects."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except RedisError as error:
        logger.warning("could not ask the sockets of %s to close: %s", group, error)
