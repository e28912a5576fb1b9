"""Django's ASGI handler with each HTTP request run whole on a thread pool.

Tienda's views and middleware are synchronous (the ORM is). Django's own ASGI handler runs them
with ``thread_sensitive=True``: every request of a process takes its turn on the same single
thread, so a page that waits 80 ms for an uncached MongoDB query holds up every cached page
queued behind it, and one process serves one request at a time (docs/decisions/0014-requests-on-a-thread-pool.md).
Here the middleware chain is built synchronous, as under WSGI, and each request runs it in one hop
to a pool thread, as a threaded WSGI server would: requests of one process overlap while any of
them waits on MongoDB or Redis. Django's request signals and response closing keep their own
thread-sensitive hops; the MongoDB client is one pool shared by all threads
(``DatabaseWrapper._connection_pools``), and Redis clients are thread-safe pools too.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class ThreadPoolASGIHandler(ASGIHandler):
    """The ASGI handler whose synchronous middleware chain runs on the event loop's default executor."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's entry point without its per-request ``ThreadSensitiveContext``.

        That context gives each request a thread of its own for thread-sensitive code, started for
        the request and joined by yet another thread started on the way out (asgiref 3.13): two
        thread starts per request, a tenth of the server's CPU on a cached page. The request's code
        runs on the pool here; what stays thread-sensitive (the request_started and
        request_finished signals, closing the response) is short and shares asgiref's one
        process-wide thread.
        """
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=False)(request)
