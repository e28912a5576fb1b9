"""Project-level views: health and the language switch."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from config.health import dependency_statuses


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
    """Django's ``set_language`` without a CSRF token, so pages that show the switch can be cached whole.

    A forged cross-site POST can only change the visitor's display language, which the switch
    changes back; docs/decisions/0004-anonymous-page-cache.md weighs this.
    """
    return set_language(request)
