"""``request.user`` from the user's card in Redis (accounts/user_cache.py), not from MongoDB.

Django's ``AuthenticationMiddleware`` loads the user row on every request and checks the
session's auth hash against it. This one does the same checks against the card: a session whose
user is unknown or inactive is anonymous, and one whose hash differs from the card's (the
password changed, or the secret key rotated) goes through Django's own ``get_user``, which
reads MongoDB, honours ``SECRET_KEY_FALLBACKS`` and ends the session when nothing matches.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts.user_cache import user_card

# The only backend that signs people in on the site (accounts/views.py, MODEL_BACKEND).
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_user(request: HttpRequest) -> Any:
    """The user the request's session is signed in as, or ``AnonymousUser``."""
    session = request.session
    user_id = session.get(auth.SESSION_KEY)
    if user_id is None:
        return AnonymousUser()
    if session.get(auth.BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return auth.get_user(request)
    card = user_card(user_id=user_id, prefetched=getattr(session, "per_user_values", None))
    if card is None or not card.is_active:
        return AnonymousUser()  # as ModelBackend.get_user answers for a missing or inactive user
    if not constant_time_compare(session.get(auth.HASH_SESSION_KEY, ""), card.auth_hash):
        return auth.get_user(request)
    return card.user()


def _user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)
    return request._cached_user


async def _auser(request: HttpRequest) -> Any:
    return await sync_to_async(_user)(request)


class CardAuthenticationMiddleware(AuthenticationMiddleware):
    """``AuthenticationMiddleware`` whose ``request.user`` comes from the user's card."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # its checks (a session is required), then ours replace its user
        request.user = SimpleLazyObject(lambda: _user(request))
        request.auser = lambda: _auser(request)
