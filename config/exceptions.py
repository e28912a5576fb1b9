"""How the API answers errors: DRF's handler, plus a machine-readable ``code`` on every ``detail``."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ErrorDetail
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
    return response
