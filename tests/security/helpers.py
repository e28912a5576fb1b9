"""What the security tests send at the server (tests/security/conftest.py starts it): who they
are (a session cookie, a bearer token), a real WebSocket client, an order's address."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts import services as account_services
from accounts.models import User
from devstack.testing import LoopbackUrls

# The address of an order placed through the API.
ADDRESS = {"full_name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}


@dataclass(frozen=True)
class Server(LoopbackUrls):
    port: int

    @property
    def origin(self) -> str:
        """What a browser on one of the server's own pages sends as Origin."""
        return self.base_url


def session_cookie(user: User) -> str:
    """A site session for ``user``, as the browser's ``sessionid`` cookie value."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in(user: User) -> Client:
    """A test client with a site session for ``user``."""
    client = Client()
    client.force_login(user)
    return client


def bearer(user: User) -> dict[str, str]:
    """An Authorization header with a fresh access token for ``user``."""
    return {"Authorization": f"Bearer {account_services.token_pair_issue(user=user)['access']}"}


def open_socket(server: Server, path: str, *, cookie: str | None = None, origin: str | None = None) -> ClientConnection:
    """A real WebSocket to ``server``, with a session cookie and an Origin when given."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else None
    return connect(
        f"{server.ws_url}{path}",
        origin=Origin(origin) if origin else None,
        additional_headers=headers,
        open_timeout=10,
        max_size=None,
    )


def resync(socket: ClientConnection) -> dict:
    """Ask for everything, as a page does on connecting; the answer."""
    socket.send(json.dumps({"type": "resync", "since": 0}))
    return json.loads(socket.recv(timeout=10))


class Closing(NamedTuple):
    """What a socket received until the server closed it, and the close frame's code and reason."""

    messages: list[dict]
    code: int | None
    reason: str


def read_until_closed(socket: ClientConnection) -> Closing:
    """Every message until the server closes the socket, then how it closed it."""
    messages: list[dict] = []
    try:
        while True:
            messages.append(json.loads(socket.recv(timeout=10)))
    except ConnectionClosed as closed:
        frame = closed.rcvd
        return Closing(messages, frame.code if frame else None, frame.reason if frame else "")
