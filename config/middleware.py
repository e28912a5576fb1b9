"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    """Keep the whole middleware chain synchronous under ASGI: one thread hop per request.

    Django runs a middleware that supports both modes in the mode of the one below it, and
    whitenoise is sync-only. Without this at the bottom, the chain under whitenoise runs async
    and every MiddlewareMixin hops to a thread and back (measured: /livez 292 req/s with the
    hops; see docs/decisions/0003-one-thread-hop.md for the figures without them).
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
