"""WebSocket auth: tickets for API clients, and the per-user group that closes sockets on a ban.
Real Redis channel layer, channels' WebsocketCommunicator through the project's middleware."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import path

from accounts import services, tickets
from accounts.consumers import UserSocketConsumer
from accounts.models import User
from accounts.realtime import CLOSE_BLOCKED, CLOSE_UNAUTHENTICATED
from accounts.ws_auth import SocketSessionMiddleware, TiendaAuthMiddlewareStack

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

application = AllowedHostsOriginValidator(
    TiendaAuthMiddlewareStack(URLRouter([path("ws/test/", UserSocketConsumer.as_asgi())]))
)
HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


def socket(query: str = "") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/test/{query}", headers=HEADERS)


async def test_anonymous_socket_is_closed_with_4401() -> None:
    communicator = socket()
    connected, code = await communicator.connect()
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


async def test_a_ticket_opens_one_socket_only() -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    ticket = (await sync_to_async(services.ws_ticket_issue)(user=user))["ticket"]
    first = socket(f"?ticket={ticket}")
    assert (await first.connect())[0] is True
    second = socket(f"?ticket={ticket}")
    assert await second.connect() == (False, CLOSE_UNAUTHENTICATED), "single use"
    await first.disconnect()
    assert await socket("?ticket=made-up").connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_ticket_expires(settings) -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    ticket = await sync_to_async(tickets.ticket_issue)(user_id=user.pk)
    from django_redis import get_redis_connection

    ttl = await sync_to_async(lambda: get_redis_connection("default").ttl(tickets.ticket_key(ticket)))()
    assert 0 < ttl <= tickets.TICKET_TTL_SECONDS


async def test_blocking_a_user_closes_their_open_sockets_only() -> None:
    ana = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    bob = await sync_to_async(User.objects.create_user)("bob@example.com", "x")
    ana_socket = socket(f"?ticket={(await sync_to_async(services.ws_ticket_issue)(user=ana))['ticket']}")
    bob_socket = socket(f"?ticket={(await sync_to_async(services.ws_ticket_issue)(user=bob))['ticket']}")
    assert (await ana_socket.connect())[0]
    assert (await bob_socket.connect())[0]
    await sync_to_async(services.user_block)(user=ana)
    closed = await ana_socket.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": CLOSE_BLOCKED}
    assert await bob_socket.receive_nothing(timeout=0.3)
    await bob_socket.disconnect()


async def test_blocked_user_ticket_does_not_open_a_socket() -> None:
    ana = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    ticket = (await sync_to_async(services.ws_ticket_issue)(user=ana))["ticket"]
    await sync_to_async(services.user_block)(user=ana)
    assert await socket(f"?ticket={ticket}").connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/test/", headers=[(b"host", b"localhost"), (b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert connected is False


async def test_a_browser_session_cookie_opens_a_socket() -> None:
    ana = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    browser = Client()
    await sync_to_async(browser.force_login)(ana)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    communicator = WebsocketCommunicator(application, "/ws/test/", headers=[*HEADERS, (b"cookie", cookie)])
    assert (await communicator.connect())[0] is True
    await sync_to_async(services.user_block)(user=ana)  # and it is ana's socket that a ban closes
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": CLOSE_BLOCKED}


async def test_socket_messages_skip_the_session_saving_wrapper() -> None:
    # A WebSocket never sends the HTTP response a session save rides on; Channels' wrapper still
    # read the session on every message. Sockets get the server's own send.
    seen = {}

    async def inner(scope, receive, send) -> None:
        seen.update(scope=scope, send=send)

    async def server_send(message) -> None:
        pass

    scope = {"type": "websocket", "cookies": {}, "headers": []}
    await SocketSessionMiddleware(inner)(scope, None, server_send)
    assert seen["send"] is server_send
    assert seen["scope"]["session"].session_key is None  # the session is still there to read
    http_scope = {"type": "http", "cookies": {}, "headers": []}
    await SocketSessionMiddleware(inner)(http_scope, None, server_send)
    assert seen["send"] is not server_send, "HTTP keeps Channels' session saving"
