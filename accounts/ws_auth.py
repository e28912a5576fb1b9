"""WebSocket authentication: browsers by their session cookie, API clients by a ticket."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from accounts.tickets import ticket_redeem


@database_sync_to_async
def _user_for_ticket(ticket: str) -> Any:
    user_id = ticket_redeem(ticket)
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    return user if user is not None and user.is_active else None


class TicketAuthMiddleware(BaseMiddleware):
    """``?ticket=<single-use ticket>`` (from POST /api/auth/ws-ticket/) sets ``scope["user"]``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tickets = params.get("ticket")
        if tickets:
            # A ticket that does not redeem means anonymous, even if a session cookie came too.
            user = await _user_for_ticket(tickets[0])
            scope = {**scope, "user": user or AnonymousUser(), "auth": "ticket"}
        return await super().__call__(scope, receive, send)


class SocketSessionMiddleware(SessionMiddleware):
    """Channels' SessionMiddleware without its wrapper around every message a socket sends.

    The wrapper saves a modified session when an HTTP response starts, which a WebSocket never
    sends (consumers save sessions themselves), yet it read the session on every message: about
    13% of the server's CPU while pushing to 1,000 sockets (docs/benchmarks/push.md).
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def TiendaAuthMiddlewareStack(inner: Any) -> Any:
    """Session auth first (browsers), then a ticket, when present, decides (API clients)."""
    return CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(TicketAuthMiddleware(inner))))
