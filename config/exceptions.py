"""How the API answers errors: DRF's handler, plus a machine-readable ``code`` on every ``detail``."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's answer, with ``{"detail": ..., "code": ...}`` wherever DRF would send a lone ``detail``.

    DRF puts the code of ``NotAuthenticated``, ``PermissionDenied``, ``NotFound``, ``Throttled``... only on
    the ``ErrorDetail`` string, so its JSON says ``{"detail": "..."}`` while our own refusals say
    ``{"detail", "code"}``. One shape lets clients branch on ``code`` whatever raised the error
    (docs/api.md, "Error shapes"). Field-validation answers (``{"field": ["..."]}``) are left alone.
    """
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and set(response.data) == {"detail"}:
        detail = response.data["detail"]
        response.data["code"] = detail.code if isinstance(detail, ErrorDetail) and detail.code else "error"
    if response is not None:
        _render_errors_as_json(context.get("request"))
    return response


def _render_errors_as_json(request: Any) -> None:
    """Errors of views that answer something else (the schema's YAML, Swagger UI's page) are JSON too.

    DRF renders an error with the renderer the request negotiated: a 405 from ``/api/schema/`` came
    out as YAML with ``detail`` mangled into ``{string, code}``, and one from ``/api/docs/`` as a
    bare text page. JSON and DRF's browsable API (DEBUG only) keep their own renderer.
    """
    renderer = getattr(request, "accepted_renderer", None)
    if request is not None and getattr(renderer, "format", "json") not in ("json", "api"):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
