"""Whole rendered pages for anonymous visitors, cached in the catalog's versioned namespaces.

A catalog page (home, a listing, search results) looks the same to every visitor who has no
session: same header (no name, an empty cart), same body. Such a page is cached whole, keyed by
its absolute URL and language, in the ``pages`` namespace *and* the namespaces of the data it
shows, so the writes that invalidate that data make the page unreachable at the same moment
(see shop/cache.py). A hit is one Redis round trip and no rendering.

Who gets a cached page: only requests whose cookies are all in ``anonymous_page_cookies()`` (the
language cookie, which is in the key, and the CSRF cookie, which these pages do not use). What is
stored: only a 200 whose rendering used nothing of the visitor's: no CSRF token, no session or
message writes, no cookies or headers other than its content type. Anything else is served but
not stored.

A visitor with a session (signed in, or an anonymous cart) and nothing else personal pending (no
messages, no unknown cookie) gets the same cached page with its site navigation, the one part of
base.html that is the visitor's own (``templates/_site_nav.html``, between the ``<!--site-nav-->``
markers), rendered for them: their name, cart count, pending-orders badge, staff links and a
logout form (without a CSRF token: docs/decisions/0015-logout-without-a-csrf-token.md). On a
miss, or when anything else is personal, the page is rendered for them whole and not stored
(docs/decisions/0008-site-sessions-in-redis.md).
shop/tests/test_page_cache.py checks that the two give the same page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from shop import cache
from shop.selectors import PAGES

View = Callable[..., HttpResponseBase]
NAV_TEMPLATE = "_site_nav.html"
NAV_START, NAV_END = b"<!--site-nav-->", b"<!--/site-nav-->"


def anonymous_page_cookies() -> frozenset[str]:
    """The cookies a visitor may carry and still share the cached page of everyone without a session."""
    return frozenset({settings.LANGUAGE_COOKIE_NAME, settings.CSRF_COOKIE_NAME})


def is_anonymous_visitor(request: HttpRequest) -> bool:
    """No session and nothing else that could make the page personal: every cookie is known harmless."""
    return request.COOKIES.keys() <= anonymous_page_cookies()


def has_only_a_session(request: HttpRequest) -> bool:
    """A session cookie, otherwise only harmless cookies (a message waiting in the session is checked later)."""
    allowed = anonymous_page_cookies() | {settings.SESSION_COOKIE_NAME}
    return settings.SESSION_COOKIE_NAME in request.COOKIES and request.COOKIES.keys() <= allowed


def with_own_navigation(request: HttpRequest, raw: bytes) -> HttpResponse | None:
    """The shared page ``raw`` with the site navigation rendered for this visitor; None when the page has no
    navigation markers (stored by an older template)."""
    start, end = raw.find(NAV_START), raw.find(NAV_END)
    if start < 0 or end < start:
        return None
    navigation = render_to_string(NAV_TEMPLATE, request=request).encode()
    return thawed_page(raw[: start + len(NAV_START)] + navigation + raw[end:])


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


def _shared_page(
    request: HttpRequest, render: Callable[[], HttpResponseBase], depends_on: Sequence[str]
) -> HttpResponseBase:
    """The page everyone without a session shares: cached, or ``render()`` (stored if nothing personal went in)."""
    rendered: list[HttpResponseBase] = []

    def build() -> bytes | None:
        rendered.append(render())
        return frozen_page(request, rendered[-1])

    raw = cache.cached_bytes(PAGES, depends_on=depends_on, key=page_key(request), build=build)
    if rendered:  # rendered here (a miss, or Redis down): the real response, stored or not
        return rendered[-1]
    return thawed_page(raw) if raw is not None else render()  # None only after a build, handled above


def _shared_page_with_own_navigation(
    request: HttpRequest, render: Callable[[], HttpResponseBase], depends_on: Sequence[str]
) -> HttpResponseBase:
    """The shared page with this visitor's navigation; on a miss, or with a message waiting for them, ``render()``
    for them alone (never stored).

    A session store that offers its read (``read_call``, accounts/session_store.py) is read in the page
    lookup's round trip (common/redis_together.py).
    """
    rendered: list[HttpResponseBase] = []

    def build() -> None:
        rendered.append(render())

    session = request.session
    call = session.read_call() if hasattr(session, "read_call") else None
    alongside = [(call, session.load_from)] if call is not None else []
    raw = cache.cached_bytes(PAGES, depends_on=depends_on, key=page_key(request), build=build, alongside=alongside)
    if rendered:
        return rendered[-1]
    if len(get_messages(request)):
        return render()
    return (raw is not None and with_own_navigation(request, raw)) or render()


def anonymous_page_cache(*, depends_on: Sequence[str]) -> Callable[[View], View]:
    """Serve a view's page from the cache to visitors without a session, and with their own navigation to
    visitors with one; ``depends_on`` names its data."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            def render() -> HttpResponseBase:
                return view(request, *args, **kwargs)

            if is_anonymous_visitor(request):
                response = _shared_page(request, render, depends_on)
            elif has_only_a_session(request):
                response = _shared_page_with_own_navigation(request, render, depends_on)
            else:
                response = render()
            # Who the visitor is (their cookies) decides the page: shared caches must not mix them.
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapper

    return decorator
