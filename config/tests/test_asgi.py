"""The ASGI entry point: HTTP goes to Django, WebSockets through origin checks and auth."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.asgi import application
from config.http_handler import THREAD_NAME_PREFIX

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


# Two views for the test below (ROOT_URLCONF points here): the first waits until the second has run.
_second_ran = threading.Event()


def _waits_for_the_second(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"overlapped" if _second_ran.wait(timeout=5) else b"alone")


def _second(request: HttpRequest) -> HttpResponse:
    _second_ran.set()
    return HttpResponse(b"second")


urlpatterns = [path("first/", _waits_for_the_second), path("second/", _second)]


@pytest.mark.asyncio
async def test_a_request_that_waits_does_not_hold_up_the_next(settings: Any) -> None:
    """Requests of one process run side by side (config/http_handler.py): Django's own handler would run the
    second only after the first had given up waiting for it."""
    settings.ROOT_URLCONF = __name__
    _second_ran.clear()
    host = [(b"host", b"localhost")]
    first = asyncio.ensure_future(HttpCommunicator(application, "GET", "/first/", headers=host).get_response(10))
    await asyncio.sleep(0.2)
    second = await HttpCommunicator(application, "GET", "/second/", headers=host).get_response(timeout=3)
    assert second["status"] == 200
    assert (await first)["body"] == b"overlapped"


@pytest.mark.asyncio
async def test_serving_requests_starts_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests run on the handler's pool, which starts at most its few threads once: Django's own handler
    starts two threads for each request (a thread-sensitive context's thread and the thread that joins
    it; see docs/decisions/0014-requests-on-a-thread-pool.md)."""
    host = [(b"host", b"localhost")]
    await HttpCommunicator(application, "GET", "/livez", headers=host).get_response(timeout=10)  # the pool exists
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counted_start(thread: threading.Thread) -> None:
        started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted_start)
    for _ in range(20):
        response = await HttpCommunicator(application, "GET", "/livez", headers=host).get_response(timeout=10)
        assert response["status"] == 200
    names = [thread.name for thread in started]
    assert len(names) < 20, names
    assert all(name.startswith(THREAD_NAME_PREFIX) for name in names), names  # the pool's own workers


@pytest.mark.asyncio
async def test_a_request_does_not_queue_behind_the_process_wide_thread() -> None:
    """Thread-sensitive work outside a request (a WebSocket consumer's database call) runs on asgiref's one
    process-wide thread; a request's signals and view do not wait for it."""
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(10))
    try:
        await asyncio.sleep(0.1)
        host = [(b"host", b"localhost")]
        response = await HttpCommunicator(application, "GET", "/livez", headers=host).get_response(timeout=3)
        assert response["status"] == 200
    finally:
        release.set()
        await busy
