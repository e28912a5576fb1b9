"""Single-use WebSocket tickets (``ws:ticket:<ticket>``): an API client trades its JWT for a
ticket and opens the socket with ``?ticket=...``, so tokens never sit in URLs or logs.

A ticket remembers the access token it was traded for (its ``jti``, API session and issue time),
so that logging out of that API session also voids the tickets it had not used yet."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from accounts.blocklist import BlocklistUnavailable

PREFIX = "ws:ticket"
TICKET_TTL_SECONDS = 30


def ticket_key(ticket: str) -> str:
    return f"{PREFIX}:{ticket}"


@dataclass(frozen=True)
class Ticket:
    """Whom a ticket opens a socket for; ``jti`` empty when it was not traded for an API token."""

    user_id: str
    jti: str = ""
    family: str = ""
    issued_ms: int = 0


def ticket_issue(*, user_id: object, jti: str = "", family: str = "", issued_ms: int = 0) -> str:
    """A random ticket for the user, valid once within TICKET_TTL_SECONDS."""
    ticket = secrets.token_urlsafe(32)
    value = json.dumps(asdict(Ticket(user_id=str(user_id), jti=jti, family=family, issued_ms=issued_ms)))
    try:
        get_redis_connection("default").set(ticket_key(ticket), value, ex=TICKET_TTL_SECONDS, nx=True)
    except RedisError as error:
        raise BlocklistUnavailable(str(error)) from error
    return ticket


def ticket_redeem(ticket: str) -> Ticket | None:
    """What the ticket was issued for, consuming it; None if unknown, used or expired."""
    if not ticket or len(ticket) > 100:
        return None
    try:
        value = get_redis_connection("default").getdel(ticket_key(ticket))
    except RedisError:
        return None  # fail closed: no socket without a verifiable ticket
    return Ticket(**json.loads(value)) if value else None
