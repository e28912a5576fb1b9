"""What a request gets when MongoDB or Redis cannot serve it: a 503 page or JSON, never a 500.

django-mongodb-backend wraps pymongo's errors in ``DatabaseError`` (the pymongo error is its
``__cause__``); raw collection calls raise pymongo's own. Either way, an unreachable server
shows up as a ``ConnectionFailure`` (refused, reset, server-selection timeout) or a timeout
somewhere in the exception's chain.

Redis is the other store a request may need to write to: an account change (password, rights,
a block) must void the old sign-ins and the cached copy of the user in Redis before it is saved,
and is refused when it cannot (``GuardedCacheUnavailable``, ``BlocklistUnavailable``, raised
before the write). That is a 503 too. So is a revocation (logout, ban, "log out everywhere")
that the Redis primary took but too few of its replicas acknowledged in time
(``RevocationUnconfirmed``, raised after the write, accounts/blocklist.py): a failover could
still undo it, so it is not reported as done, and repeating it is safe. Anything else is a bug
and stays a 500.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.defaults import server_error as django_server_error
from pymongo.errors import ConnectionFailure, PyMongoError

from accounts.blocklist import BlocklistUnavailable, RevocationUnconfirmed
from common.guarded_cache import GuardedCacheUnavailable
from config.errors import is_api_path

ERROR_DATABASE_UNAVAILABLE = _(
    "The shop's database is not answering right now, so this request could not be completed. "
    "Nothing was lost: please try again in a minute."
)
CODE_DATABASE_UNAVAILABLE = "database_unavailable"
ERROR_SERVER = _(
    "Something went wrong on our side and the request was not completed. The error was logged; please try again."
)
CODE_SERVER_ERROR = "server_error"
ERROR_SIGN_IN_STORE_UNAVAILABLE = _(
    "This change was not saved: the service that keeps sign-ins and account rights in force is not "
    "answering, and saving without it could leave old sign-ins or rights working. Please try again in a minute."
)
CODE_SIGN_IN_STORE_UNAVAILABLE = "sign_in_store_unavailable"
ERROR_REVOCATION_UNCONFIRMED = _(
    "The sign-out was not confirmed: the service that keeps sign-ins in force did not copy it to its "
    "standby servers in time, so it might not stay in force. Please do it again in a minute."
)
CODE_REVOCATION_UNCONFIRMED = "revocation_unconfirmed"
RETRY_AFTER_SECONDS = 30


def _in_chain(error: BaseException | None, matches: Callable[[BaseException], bool]) -> bool:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if matches(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def database_unreachable(error: BaseException | None) -> bool:
    """True when ``error`` (or what caused it) says MongoDB could not be reached in time."""
    return _in_chain(
        error, lambda e: isinstance(e, ConnectionFailure) or (isinstance(e, PyMongoError) and bool(e.timeout))
    )


def sign_in_store_unreachable(error: BaseException | None) -> bool:
    """True when ``error`` (or what caused it) is an account change refused because Redis could not record it."""
    return _in_chain(error, lambda e: isinstance(e, GuardedCacheUnavailable | BlocklistUnavailable))


def unavailable_response(request: HttpRequest, *, message: str, code: str) -> HttpResponse:
    """503 with ``message``: JSON under /api/, a page elsewhere."""
    if is_api_path(request.path):
        response: HttpResponse = JsonResponse({"detail": str(message), "code": code}, status=503)
    else:
        # Rendered without the request: the base template reads the session and the user, which
        # need the stores that just failed.
        html = render_to_string("503.html", {"message": message})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: a 503 when MongoDB, or Redis for an account change, was unreachable, or a
    revocation was not confirmed by Redis's replicas; else a 500.

    Django calls it while handling the exception, so ``sys.exc_info()`` still holds it; this
    covers exceptions from views, DRF and middleware (the session and user loads) alike.
    """
    error = sys.exc_info()[1]
    if database_unreachable(error):
        return unavailable_response(request, message=ERROR_DATABASE_UNAVAILABLE, code=CODE_DATABASE_UNAVAILABLE)
    if _in_chain(error, lambda e: isinstance(e, RevocationUnconfirmed)):
        return unavailable_response(request, message=ERROR_REVOCATION_UNCONFIRMED, code=CODE_REVOCATION_UNCONFIRMED)
    if sign_in_store_unreachable(error):
        return unavailable_response(
            request, message=ERROR_SIGN_IN_STORE_UNAVAILABLE, code=CODE_SIGN_IN_STORE_UNAVAILABLE
        )
    if is_api_path(request.path):  # API clients parse JSON, as for every other API error
        return JsonResponse({"detail": str(ERROR_SERVER), "code": CODE_SERVER_ERROR}, status=500)
    return django_server_error(request, template_name=template_name)
