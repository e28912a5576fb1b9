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
from accounts.tokens import TiendaAccessToken
from accounts.ws_auth import SocketSessionMiddleware, TiendaAuthMiddlewareStack

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

application = AllowedHostsOriginValidator(
    TiendaAuthMiddlewareStack(URLRouter([path("ws/test/", UserSocketConsumer.as_asgi())]))
)
HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


def socket(query: str = "") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/test/{query}", headers=HEADERS)


async def refused_with(communicator: WebsocketCommunicator) -> int | None:
    """The close code of a socket refused after the handshake (None: it was not refused)."""
    connected, _ = await communicator.connect()
    assert connected, "refusals come after accepting: a close during the handshake carries no code"
    if await communicator.receive_nothing(timeout=0.3):
        return None
    message = await communicator.receive_output(timeout=3)
    return message["code"] if message["type"] == "websocket.close" else None


async def test_anonymous_socket_is_closed_with_4401() -> None:
    assert await refused_with(socket()) == CLOSE_UNAUTHENTICATED


async def test_a_ticket_opens_one_socket_only() -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    ticket = (await sync_to_async(services.ws_ticket_issue)(user=user))["ticket"]
    first = socket(f"?ticket={ticket}")
    assert (await first.connect())[0] is True
    second = socket(f"?ticket={ticket}")
    assert await refused_with(second) == CLOSE_UNAUTHENTICATED, "single use"
    await first.disconnect()
    assert await refused_with(socket("?ticket=made-up")) == CLOSE_UNAUTHENTICATED


async def test_a_ticket_dies_with_the_api_session_it_was_traded_for() -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    logged_out = TiendaAccessToken((await sync_to_async(services.token_pair_issue)(user=user))["access"])
    other = TiendaAccessToken((await sync_to_async(services.token_pair_issue)(user=user))["access"])
    unused = (await sync_to_async(services.ws_ticket_issue)(user=user, access=logged_out))["ticket"]
    kept = (await sync_to_async(services.ws_ticket_issue)(user=user, access=other))["ticket"]
    await sync_to_async(services.token_logout)(access=logged_out)
    assert await refused_with(socket(f"?ticket={unused}")) == CLOSE_UNAUTHENTICATED
    still_open = socket(f"?ticket={kept}")
    assert await refused_with(still_open) is None, "the other session's ticket still works"
    await still_open.disconnect()


async def test_logging_out_an_api_session_closes_its_open_sockets_only() -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    leaving = TiendaAccessToken((await sync_to_async(services.token_pair_issue)(user=user))["access"])
    staying = TiendaAccessToken((await sync_to_async(services.token_pair_issue)(user=user))["access"])
    issue = sync_to_async(services.ws_ticket_issue)
    leaving_socket = socket(f"?ticket={(await issue(user=user, access=leaving))['ticket']}")
    staying_socket = socket(f"?ticket={(await issue(user=user, access=staying))['ticket']}")
    assert (await leaving_socket.connect())[0]
    assert (await staying_socket.connect())[0]
    await sync_to_async(services.token_logout)(access=leaving)
    assert await leaving_socket.receive_output(timeout=3) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert await staying_socket.receive_nothing(timeout=0.3), "another API session of the same user stays live"
    await staying_socket.disconnect()


async def test_logging_out_of_the_site_closes_that_sessions_sockets_only() -> None:
    user = await sync_to_async(User.objects.create_user)("ana@example.com", "x")
    leaving, staying = Client(), Client()
    await sync_to_async(leaving.force_login)(user)
    await sync_to_async(staying.force_login)(user)

    def browser_socket(client: Client) -> WebsocketCommunicator:
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        return WebsocketCommunicator(application, "/ws/test/", headers=[*HEADERS, (b"cookie", cookie.encode())])

    leaving_socket, staying_socket = browser_socket(leaving), browser_socket(staying)
    assert (await leaving_socket.connect())[0]
    assert (await staying_socket.connect())[0]
    assert await leaving_socket.receive_nothing(timeout=0.2), "a logged-in browser's socket stays open"
    await sync_to_async(leaving.post)("/account/logout/")
    assert await leaving_socket.receive_output(timeout=3) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert await staying_socket.receive_nothing(timeout=0.3), "the same user's other browser stays live"
    await staying_socket.disconnect()


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
    assert await refused_with(socket(f"?ticket={ticket}")) == CLOSE_UNAUTHENTICATED


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
