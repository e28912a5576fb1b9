"""How requests that reach no view are answered: JSON under /api/, the site's page elsewhere.

Django answers an unknown path with ``handler404``, which renders ``404.html``: right for the
site, wrong for an API client, which expects the ``{"detail", "code"}`` shape of every other API
error (config/exceptions.py, docs/api.md "Error shapes"). With DEBUG on, Django shows its debug
page instead of calling ``handler404``: that is for developers only and production never has it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found as django_page_not_found

API_PREFIX = "/api/"
# User-facing message, asserted by the tests.
ERROR_API_NOT_FOUND = _("There is no API endpoint at this address; /api/docs/ lists them.")
CODE_NOT_FOUND = "not_found"


def is_api_path(path: str) -> bool:
    """True for paths of the JSON API (``/api`` itself included), whose errors are JSON."""
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: ``{"detail", "code": "not_found"}`` for API paths, the 404 page for the rest."""
    if is_api_path(request.path):
        return JsonResponse({"detail": str(ERROR_API_NOT_FOUND), "code": CODE_NOT_FOUND}, status=404)
    return django_page_not_found(request, exception)
