"""Project-level views: health, the language switch (kept for a signed-in user's e-mails), the OpenAPI schema."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_callable
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import set_language
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import user_language_remember
from common.origin import is_same_origin_request
from config.health import dependency_statuses

# What the CSRF failure page says when the language switch refuses a POST from another site.
REASON_CROSS_ORIGIN_LANGUAGE = "Cross-origin request to change the language."


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when MongoDB and Redis answer, 503 naming the one that does not."""
    statuses = dependency_statuses()
    healthy = all(status.ok for status in statuses)
    dependencies = {status.name: status.as_dict() for status in statuses}
    if not settings.HEALTHZ_SHOW_DETAILS:  # production: no internal addresses or errors for the world
        dependencies = {name: {"status": details["status"]} for name, details in dependencies.items()}
    body = {"status": "ok" if healthy else "unavailable", "dependencies": dependencies}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: the process serves requests (no dependency checked; see /healthz for those)."""
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language``, guarded by the request's origin instead of a CSRF token.

    Without a token, every page that shows the switch can be cached whole for visitors without a
    session (shop/page_cache.py). A POST from another site still gets the CSRF failure page
    (docs/decisions/0004-anonymous-page-cache.md).
    """
    if request.method == "POST" and not is_same_origin_request(request):
        return get_callable(settings.CSRF_FAILURE_VIEW)(request, reason=REASON_CROSS_ORIGIN_LANGUAGE)
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_remember(user=request.user, language=language)  # their e-mails follow the site
    return response


class ApiSchemaView(SpectacularAPIView):
    """``/api/schema/``: drf-spectacular's view, generating one schema at a time.

    drf-spectacular 0.30 resolves its extensions' target classes lazily on the first generation,
    and not thread-safely: when two first requests overlap, one can read another's half-done
    import (``target_class`` already None) and answer 500 (``AttributeError: 'NoneType' object has
    no attribute 'startswith'``). Two clients fetching the schema of a fresh server at once hit
    it. Generation is rare and takes well under a second, so a lock costs nothing that matters.
    """

    _generating = threading.Lock()

    @extend_schema(**SCHEMA_KWARGS)  # as the parent's get: the schema documents itself (or not) the same way
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with self._generating:
            return super().get(request, *args, **kwargs)
