"""The live order sockets through the project's ASGI app, as a signed-in page opens them."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.routing import get_default_application
from channels.testing import WebsocketCommunicator

from accounts import services as account_services
from accounts.models import User

application = get_default_application()  # the project's, as ASGI_APPLICATION names it
HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


async def connect(user: User, path: str) -> WebsocketCommunicator:
    """A socket on ``path`` for ``user``, opened with a one-time ticket; fails if refused."""
    ticket = (await sync_to_async(account_services.ws_ticket_issue)(user=user))["ticket"]
    communicator = WebsocketCommunicator(application, f"{path}?ticket={ticket}", headers=HEADERS)
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def resync(communicator: WebsocketCommunicator, since: int = 0) -> dict:
    """Ask for what happened after ``since``, as a page does on (re)connecting; the answer."""
    await communicator.send_json_to({"type": "resync", "since": since})
    return await communicator.receive_json_from(timeout=5)
