"""The ASGI entry point: HTTP goes to Django, WebSockets through origin checks and auth."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core import signals
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import get_script_prefix, path

from config.asgi import application, django_asgi_app
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


def _cache_client(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(id(caches["default"])).encode())


def _script_prefix(request: HttpRequest) -> HttpResponse:
    return HttpResponse(get_script_prefix().encode())


def _streamed(request: HttpRequest) -> StreamingHttpResponse:
    async def parts() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"

    return StreamingHttpResponse(parts())


urlpatterns = [
    path("livez/", lambda request: HttpResponse(b"ok")),
    path("streamed/", _streamed),
    path("first/", _waits_for_the_second),
    path("second/", _second),
    path("cache-client/", _cache_client),
    path("script-prefix/", _script_prefix),
]


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


@pytest.mark.asyncio
async def test_requests_on_one_thread_share_its_django_state(settings: Any) -> None:
    """Each pool thread keeps its context, as a WSGI thread does: the cache clients Django builds per context are
    built once per thread, not again for every request (Django's own handler builds them for each request)."""
    settings.ROOT_URLCONF = __name__
    host = [(b"host", b"localhost")]
    clients = set()
    for _ in range(30):
        response = await HttpCommunicator(application, "GET", "/cache-client/", headers=host).get_response(timeout=10)
        clients.add(response["body"])
    assert len(clients) <= django_asgi_app.executor._max_workers, clients


@pytest.mark.asyncio
async def test_the_script_prefix_is_each_requests_own(settings: Any) -> None:
    """A request under a path prefix (the ASGI ``root_path``) reverses URLs under it; the next request on the same
    threads does not inherit it."""
    settings.ROOT_URLCONF = __name__
    host = [(b"host", b"localhost")]
    for root_path, expected in (("/shop", b"/shop/"), ("", b"/"), ("/shop", b"/shop/"), ("", b"/")):
        communicator = HttpCommunicator(application, "GET", f"{root_path}/script-prefix/", headers=host)
        communicator.scope["root_path"] = root_path
        response = await communicator.get_response(timeout=10)
        assert response["body"] == expected, root_path


@pytest.mark.asyncio
async def test_request_signals_are_sent_once_each_on_the_pool() -> None:
    """``request_started`` before the view and ``request_finished`` after the response, once each, on the request
    pool's threads (database connections are closed by them per thread)."""
    sent: list[tuple[str, str]] = []

    def started(**kwargs: Any) -> None:
        sent.append(("started", threading.current_thread().name))

    def finished(**kwargs: Any) -> None:
        sent.append(("finished", threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        communicator = HttpCommunicator(application, "GET", "/livez", headers=[(b"host", b"localhost")])
        response = await communicator.get_response(timeout=10)
        await communicator.wait(timeout=10)  # the application has returned: the response is closed
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert response["status"] == 200
    assert [kind for kind, _ in sent] == ["started", "finished"]
    assert all(name.startswith(THREAD_NAME_PREFIX) for _, name in sent), sent


async def _get(path: str) -> tuple[int, bytes]:
    """A GET through the application, streamed bodies included (Channels' HttpCommunicator wants a body in
    every message; Django ends a stream with a message that has none)."""
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "headers": [(b"host", b"localhost")],
             "client": ("127.0.0.1", 1), "server": ("localhost", 80)}  # fmt: skip
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await communicator.wait(10)
    return start["status"], body


@pytest.mark.asyncio
@pytest.mark.parametrize(("url", "body", "pool_calls"), [("/livez/", b"ok", 1), ("/streamed/", b"one two", 2)])
async def test_a_buffered_response_is_closed_in_the_call_that_made_it(
    settings: Any, monkeypatch: pytest.MonkeyPatch, url: str, body: bytes, pool_calls: int
) -> None:
    """A response whose body is in memory is closed (``request_finished``) on the thread that made it, before it
    is sent: one call on the pool. A streaming one is closed by a second call, after its body is sent."""
    settings.ROOT_URLCONF = __name__
    calls: list[str] = []
    finished: list[str] = []
    on_pool = django_asgi_app.on_pool

    async def counted(func: Any, *args: Any) -> Any:
        calls.append(getattr(func, "__name__", repr(func)))
        return await on_pool(func, *args)

    def record(**kwargs: Any) -> None:
        finished.append(threading.current_thread().name)

    monkeypatch.setattr(django_asgi_app, "on_pool", counted)
    signals.request_finished.connect(record)
    try:
        status, received = await _get(url)
    finally:
        signals.request_finished.disconnect(record)
    assert (status, received) == (200, body)
    assert len(calls) == pool_calls, calls
    assert len(finished) == 1, finished
    assert finished[0].startswith(THREAD_NAME_PREFIX), finished
