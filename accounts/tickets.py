"""Single-use WebSocket tickets (``ws:ticket:<ticket>``): an API client trades its JWT for a
ticket and opens the socket with ``?ticket=...``, so tokens never sit in URLs or logs."""

from __future__ import annotations

import secrets

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from accounts.blocklist import BlocklistUnavailable

PREFIX = "ws:ticket"
TICKET_TTL_SECONDS = 30


def ticket_key(ticket: str) -> str:
    return f"{PREFIX}:{ticket}"


def ticket_issue(*, user_id: object) -> str:
    """A random ticket for the user, valid once within TICKET_TTL_SECONDS."""
    ticket = secrets.token_urlsafe(32)
    try:
        get_redis_connection("default").set(ticket_key(ticket), str(user_id), ex=TICKET_TTL_SECONDS, nx=True)
    except RedisError as error:
        raise BlocklistUnavailable(str(error)) from error
    return ticket


def ticket_redeem(ticket: str) -> str | None:
    """The user id the ticket was issued to, consuming it; None if unknown, used or expired."""
    if not ticket or len(ticket) > 100:
        return None
    try:
        value = get_redis_connection("default").getdel(ticket_key(ticket))
    except RedisError:
        return None  # fail closed: no socket without a verifiable ticket
    return value.decode() if value else None
