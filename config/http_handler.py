"""Django's ASGI handler with each HTTP request's synchronous work on one pool of threads.

Tienda's views and middleware are synchronous (the ORM is). Django's own handler opens a
``ThreadSensitiveContext`` for every request, so the request's thread-sensitive work runs on a
thread started for that request, and asgiref 3.13 starts one more thread on the way out to join
it; it hops between threads and the event loop four times a request (the ``request_started``
signal, the middleware chain, the view, closing the response), and each hop copies the
request's context variables to the thread and back (docs/decisions/0014-requests-on-a-thread-pool.md).

Here a request is served as a threaded WSGI server serves it. The middleware chain is built
synchronous. Everything from the ``request_started`` signal to the response is one call on a
thread of the process's pool. A response whose body is already in memory is closed (the
``request_finished`` signal) at the end of that call, just before it is sent; a streaming one is
closed by a second call, after its body is sent. Each call runs in that thread's own context,
which lives as long as the thread, as a WSGI thread's does: Django's per-context state (cache
clients, the active language, the URLconf) is built once per thread and reset by Django where it
is per request, instead of being built again for every request and copied back to the event
loop, which discards it. Requests of one process overlap while any of them waits on MongoDB or
Redis. The MongoDB client is one pool shared by all threads
(``DatabaseWrapper._connection_pools``) and Redis clients are thread-safe pools too. WebSocket
consumers keep asgiref's own rules.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

THREAD_NAME_PREFIX = "http-request"

logger = logging.getLogger(__name__)

# Each pool thread's context, kept for the thread's life (a WSGI thread's own context, likewise).
_thread = threading.local()


def _in_thread_context[T](func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in the calling thread's long-lived context."""
    context = getattr(_thread, "context", None)
    if context is None:
        context = _thread.context = contextvars.Context()
    return context.run(func, *args)


class ThreadPoolASGIHandler(ASGIHandler):
    """The ASGI handler whose requests run their synchronous work on ``self.executor``."""

    def __init__(self) -> None:
        super().__init__()
        # Python's default size, as for the event loop's default executor: min(32, usable cores + 4).
        self.executor = ThreadPoolExecutor(thread_name_prefix=THREAD_NAME_PREFIX)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ``handle``, with the synchronous work in one call on the pool (two for a streaming response).

        Django's also watches for the client's disconnect while the view runs, to cancel async views;
        a synchronous view runs to its end either way, and the server drops what is sent after a
        disconnect.
        """
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await self.on_pool(self.respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await self.on_pool(response.close)  # sends request_finished
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The response to one request, from the ``request_started`` signal to the middleware chain's answer;
        closed already unless it streams."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size  # as Django's handler: the server does the chunking
        if not response.streaming:
            # Its body is bytes already: closing it here saves a second hop to the pool after it is sent.
            # A close that fails is logged, as one after the send would be, and the response still goes out.
            try:
                response.close()
            except Exception:
                logger.exception("closing the response to %s failed", scope.get("path"))
        return response

    async def on_pool[T](self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` on a pool thread, in that thread's context; nothing is copied in or back."""
        # asgiref copies back to the event loop only a context it made itself; an empty one of ours is not.
        run = sync_to_async(
            _in_thread_context, thread_sensitive=False, executor=self.executor, context=contextvars.Context()
        )
        return await run(func, *args)
