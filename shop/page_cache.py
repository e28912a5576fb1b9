"""Whole rendered pages for anonymous visitors, cached in the catalog's versioned namespaces.

A catalog page (home, a listing, search results) looks the same to every visitor who has no
session: same header (no name, an empty cart), same body. Such a page is cached whole, keyed by
its absolute URL and language, in the ``pages`` namespace *and* the namespaces of the data it
shows, so the writes that invalidate that data make the page unreachable at the same moment
(see shop/cache.py). A hit is one Redis round trip and no rendering.

Who gets a cached page: only requests whose cookies are all in ``anonymous_page_cookies()`` (the
language cookie, which is in the key, and the CSRF cookie, which these pages do not use). A
session cookie (a logged-in user, an anonymous cart, pending messages) or any cookie we do not
know about means the page is rendered for that visitor, as before. What is stored: only a 200
whose rendering used nothing of the visitor's: no CSRF token, no session or message writes, no
cookies or headers other than its content type. Anything else is served but not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from shop import cache
from shop.selectors import PAGES

View = Callable[..., HttpResponseBase]


def anonymous_page_cookies() -> frozenset[str]:
    """The cookies a visitor may carry and still share the cached page of everyone without a session."""
    return frozenset({settings.LANGUAGE_COOKIE_NAME, settings.CSRF_COOKIE_NAME})


def is_anonymous_visitor(request: HttpRequest) -> bool:
    """No session and nothing else that could make the page personal: every cookie is known harmless."""
    return request.COOKIES.keys() <= anonymous_page_cookies()


def page_key(request: HttpRequest) -> dict[str, str]:
    """What a cached page depends on besides the data namespaces: scheme, host, full path and language."""
    return {"url": request.build_absolute_uri(), "language": get_language()}


def frozen_page(request: HttpRequest, response: HttpResponseBase) -> bytes | None:
    """The page as stored (content type, newline, body), or None when it must not be shared."""
    if (
        not isinstance(response, HttpResponse)  # streaming
        or response.status_code != 200
        or response.cookies
        or {name.lower() for name in response.headers} != {"content-type"}
        or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")  # a CSRF token was rendered: it is this visitor's
        or getattr(getattr(request, "session", None), "modified", False)
        or len(get_messages(request))
    ):
        return None
    return response["Content-Type"].encode() + b"\n" + response.content


def thawed_page(raw: bytes) -> HttpResponse:
    """A response from a stored page."""
    content_type, _, body = raw.partition(b"\n")
    return HttpResponse(body, content_type=content_type.decode())


def anonymous_page_cache(*, depends_on: Sequence[str]) -> Callable[[View], View]:
    """Serve a view's page whole from the cache to anonymous visitors; ``depends_on`` names its data."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not is_anonymous_visitor(request):
                response = view(request, *args, **kwargs)
            else:
                rendered: list[HttpResponseBase] = []

                def build() -> bytes | None:
                    rendered.append(view(request, *args, **kwargs))
                    return frozen_page(request, rendered[-1])

                raw = cache.cached_bytes(PAGES, depends_on=depends_on, key=page_key(request), build=build)
                if rendered:  # rendered here (a miss, or Redis down): the real response, stored or not
                    response = rendered[-1]
                elif raw is not None:
                    response = thawed_page(raw)
                else:  # cannot happen: only a build that ran here answers None
                    response = view(request, *args, **kwargs)
            # Who the visitor is (their cookies) decides the page: shared caches must not mix them.
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapper

    return decorator
