"""Project-level views: health and the language switch."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_callable
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from config.health import dependency_statuses
from config.security import is_same_origin_request

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
    return set_language(request)
