"""The site navigation, the part of every page that is the visitor's own: its state, and its rendering.

Everything ``templates/_site_nav_links.html`` shows is in ``SiteNav``: the cart's count (from the
session), whether the visitor is signed in, their short name and staff flag (their card in Redis,
accounts/user_cache.py), their pending-orders badge (orders/pending_badge.py, read with the
session) and, for a visitor who is not signed in, the page to come back to after logging in. The
state is read for every request, so it is never stale; the links are rendered once per state,
language and script prefix and kept in this process (``_rendered``), since many visitors share
a state and a rendering costs more than the rest of a cached page (shop/page_cache.py). Nothing
in the links is the visitor's own beyond the state: the logout form carries no CSRF token (the
logout checks the request's origin, docs/decisions/0015-logout-without-a-csrf-token.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.translation import get_language

from orders.cart import cart_count
from orders.pending_badge import pending_orders_badge

LINKS_TEMPLATE = "_site_nav_links.html"
# Renderings kept per process: one per distinct state, language and prefix (most visitors share a few).
RENDERINGS_KEPT = 2048


@dataclass(frozen=True)
class SiteNav:
    """What the site navigation shows: all it depends on, so that one rendering serves every equal state."""

    cart_units: int
    signed_in: bool = False
    short_name: str = ""
    is_staff: bool = False
    pending_orders: int = 0
    # Where "Log in" comes back to (not signed in, outside the account pages); None for no ``next``.
    login_next: str | None = None


def site_nav_state(request: HttpRequest) -> SiteNav:
    """The navigation's state for this request."""
    session = getattr(request, "session", None)
    units = cart_count(session) if session is not None else 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        badge = pending_orders_badge(user=user, prefetched=getattr(session, "per_user_values", None))
        return SiteNav(
            cart_units=units, signed_in=True, short_name=user.get_short_name(), is_staff=user.is_staff,
            pending_orders=badge,
        )  # fmt: skip
    match = getattr(request, "resolver_match", None)
    login_next = request.get_full_path() if match is not None and match.namespace != "accounts" else None
    return SiteNav(cart_units=units, login_next=login_next)


@lru_cache(maxsize=RENDERINGS_KEPT)
def _rendered(state: SiteNav, language: str | None, script_prefix: str) -> str:
    """The links for ``state`` (rendered in the active language and under the active prefix, which key it)."""
    return _render(state)


def _render(state: SiteNav) -> str:
    return get_template(LINKS_TEMPLATE).render({"site_nav": state})


def render_site_nav(request: HttpRequest) -> str:
    """The navigation's links for this request's visitor."""
    state = site_nav_state(request)
    # DEBUG reloads edited templates; a kept rendering would hide the edit.
    return _render(state) if settings.DEBUG else _rendered(state, get_language(), get_script_prefix())
