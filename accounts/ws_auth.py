"""WebSocket authentication: browsers by their session cookie, API clients by a ticket."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts import services


@database_sync_to_async
def _redeem_ticket(ticket: str) -> tuple[Any, str] | None:
    return services.ws_ticket_redeem(ticket=ticket)


class TicketAuthMiddleware(BaseMiddleware):
    """``?ticket=<single-use ticket>`` (from POST /api/auth/ws-ticket/) sets ``scope["user"]``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tickets = params.get("ticket")
        if tickets:
            # A ticket that does not redeem means anonymous, even if a session cookie came too.
            redeemed = await _redeem_ticket(tickets[0])
            user, family = redeemed or (AnonymousUser(), "")
            scope = {**scope, "user": user, "auth": "ticket", "api_family": family}
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
