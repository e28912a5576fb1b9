"""The ASGI entry point: HTTP goes to Django, WebSockets through origin checks and auth."""

from __future__ import annotations

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator

from config.asgi import application

# Channels closes stale database connections around every consumer, the refusing one too.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.asyncio
async def test_http_reaches_django() -> None:
    communicator = HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")])
    response = await communicator.get_response()
    assert response["status"] in (200, 503)
    assert b"dependencies" in response["body"]


@pytest.mark.asyncio
async def test_websocket_from_a_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/orders/", headers=[(b"host", b"localhost"), (b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


def test_objects_loaded_at_startup_are_kept_out_of_full_collections() -> None:
    import gc

    assert gc.get_freeze_count() > 10_000, "config.asgi freezes what it loaded (docs/benchmarks/push.md)"
