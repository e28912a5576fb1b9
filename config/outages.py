"""What a request gets when MongoDB cannot be reached: a 503 page or JSON, never a 500.

django-mongodb-backend wraps pymongo's errors in ``DatabaseError`` (the pymongo error is its
``__cause__``); raw collection calls raise pymongo's own. Either way, an unreachable server
shows up as a ``ConnectionFailure`` (refused, reset, server-selection timeout) or a timeout
somewhere in the exception's chain. Anything else is a bug and stays a 500.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.defaults import server_error as django_server_error
from pymongo.errors import ConnectionFailure, PyMongoError

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
RETRY_AFTER_SECONDS = 30


def database_unreachable(error: BaseException | None) -> bool:
    """True when ``error`` (or what caused it) says MongoDB could not be reached in time."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ConnectionFailure) or (isinstance(error, PyMongoError) and error.timeout):
            return True
        error = error.__cause__ or error.__context__
    return False


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 for a request MongoDB could not serve: JSON under /api/, a page elsewhere."""
    if is_api_path(request.path):
        response: HttpResponse = JsonResponse(
            {"detail": str(ERROR_DATABASE_UNAVAILABLE), "code": CODE_DATABASE_UNAVAILABLE}, status=503
        )
    else:
        # Rendered without the request: the base template reads the session and the user,
        # which live in the database that just failed.
        html = render_to_string("503.html", {"message": ERROR_DATABASE_UNAVAILABLE})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: a 503 when the failure was MongoDB being unreachable, else a 500 (JSON under /api/).

    Django calls it while handling the exception, so ``sys.exc_info()`` still holds it; this
    covers exceptions from views, DRF and middleware (the session and user loads) alike.
    """
    if database_unreachable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    if is_api_path(request.path):  # API clients parse JSON, as for every other API error
        return JsonResponse({"detail": str(ERROR_SERVER), "code": CODE_SERVER_ERROR}, status=500)
    return django_server_error(request, template_name=template_name)
