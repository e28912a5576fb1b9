"""Django's ASGI handler with each HTTP request's synchronous work on one pool of threads.

Tienda's views and middleware are synchronous (the ORM is). Django's own handler opens a
``ThreadSensitiveContext`` for every request, so the request's thread-sensitive work (its
middleware chain and view, the request_started and request_finished signals, closing the
response) runs on a thread started for that request, and asgiref 3.13 starts one more thread on
the way out to join it: two thread starts per request, about a tenth of the server's CPU on a
cached page. Its middleware chain also hops between that thread and the event loop around the
view (docs/decisions/0014-requests-on-a-thread-pool.md).

Here each request's context is given one pool of threads shared by the process's requests, which
asgiref neither starts nor shuts down per request, and the middleware chain is built synchronous,
as under WSGI, and runs whole in one hop to that pool, as a threaded WSGI server runs requests.
Requests of one process overlap while any of them waits on MongoDB or Redis. A request's
calls may land on different threads of the pool: the MongoDB client is one pool shared by all
threads (``DatabaseWrapper._connection_pools``) and ``connection.close()`` does nothing on this
backend, and Redis clients are thread-safe pools too. WebSocket consumers keep asgiref's own rules.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

THREAD_NAME_PREFIX = "http-request"


class ThreadPoolASGIHandler(ASGIHandler):
    """The ASGI handler whose requests run their synchronous work on ``self.executor``."""

    def __init__(self) -> None:
        super().__init__()
        # Python's default size, as for the event loop's default executor: min(32, usable cores + 4).
        self.executor = ThreadPoolExecutor(thread_name_prefix=THREAD_NAME_PREFIX)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's entry point, with the request's thread-sensitive work sent to the shared pool."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext(executor=self.executor):
            await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=False, executor=self.executor)(request)
