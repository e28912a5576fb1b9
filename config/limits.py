"""Request body size limit, enforced before anything buffers a body.

Neither uvicorn nor Django's ASGI handler caps a request body: the handler reads all of it
(spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE) before a view runs, and Django's
DATA_UPLOAD_MAX_MEMORY_SIZE applies only later, when something reads ``request.body``.
Measured before this module (uvicorn, the default 2.5 MB limit): a 5 MB JSON POST to
/api/orders/ was read in full, then answered with the HTML "Bad request" page; a 5 MB chunked
body was read in full and then ignored (DRF parses no body without Content-Length).

So ``RequestBodyLimit`` wraps the ASGI app: a body over the limit (declared by Content-Length,
or counted while reading a chunked one) never reaches Django. Django still gets the request,
with an empty body and a scope flag, so that ``BodyTooLargeMiddleware`` can answer 413 in the
visitor's language: JSON under /api/, a page elsewhere. The limit is DATA_UPLOAD_MAX_MEMORY_SIZE
(Tienda takes no file uploads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from config.errors import is_api_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE_SCOPE_KEY = "tienda.body_too_large"
ERROR_BODY_TOO_LARGE = _("The request is too large: send at most %(limit)s.")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn refuses such requests before they get here
    return None


class RequestBodyLimit:
    """ASGI middleware: HTTP bodies over ``max_bytes`` reach the app empty, with a flag set."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass small bodies through untouched; replace big ones by an empty body and the flag."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:
            # The server frames the body by Content-Length, so the declared size is the real one.
            if declared > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # Chunked (or no body): read up to the limit, then replay what was read.
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        pending = iter(buffered)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        delivered = False

        async def empty_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # Django listens for a disconnect while the view runs: skip the unread body.
            while (message := await receive())["type"] == "http.request":
                pass
            return message

        await self.app({**scope, TOO_LARGE_SCOPE_KEY: True}, empty_body, send)


class BodyTooLargeMiddleware:
    """Answers 413 to a request whose body ``RequestBodyLimit`` held back (put after LocaleMiddleware)."""

    sync_capable = True
    async_capable = False  # the chain runs synchronously, one pool thread per request (config/http_handler.py)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not getattr(request, "scope", {}).get(TOO_LARGE_SCOPE_KEY):
            return self.get_response(request)
        message = ERROR_BODY_TOO_LARGE % {"limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
        if is_api_path(request.path):
            response: HttpResponse = JsonResponse({"detail": message, "code": "request_too_large"}, status=413)
        else:
            response = render(request, "413.html", {"message": message}, status=413)
        # The rest of the body is never read: end the connection rather than parse it as a request.
        response["Connection"] = "close"
        return response
