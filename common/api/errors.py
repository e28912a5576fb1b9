"""The error answers every API shares, and their OpenAPI descriptions (docs/api.md, "Error shapes").

- ``{"detail", "code"}``: authentication, permission, not found... (config/exceptions.py adds
  ``code`` where DRF leaves it out).
- ``{"errors": {"<parameter>": "<message>"}}``: malformed query parameters (MalformedQuery).
- ``{"<field>": ["<message>"]}``: DRF's answer for a body that fails validation.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException


class MalformedQuery(APIException):
    """400 ``{"errors": {...}}`` naming each rejected query parameter with its message."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__({"errors": errors})


class ErrorDetailOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="not_found, not_authenticated, token_not_valid, permission_denied...")

    class Meta:
        ref_name = "ErrorDetail"


class QueryErrorOutputSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.CharField(),
        help_text="Each rejected query parameter (e.g. page, min_price, attr_colour) mapped to a message.",
    )

    class Meta:
        ref_name = "QueryError"


VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "description": "Each rejected field (or non_field_errors) mapped to its messages; a list or nested "
            'field maps the index or name of each rejected item the same way: `{"tags": {"3": ["Not a valid '
            'string."]}}`.',
            "additionalProperties": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        },
        {
            "type": "object",
            "description": "The body is not JSON (code parse_error).",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
            "required": ["detail", "code"],
        },
    ],
}


def invalid_body(
    *, description: str = "The body failed validation.", example: dict[str, Any] | None = None
) -> OpenApiResponse:
    """The 400 of a body that fails validation, with an ``example`` of this endpoint's own fields."""
    schema = VALIDATION_ERROR_SCHEMA if example is None else {**VALIDATION_ERROR_SCHEMA, "example": example}
    return OpenApiResponse(schema, description=description)


MALFORMED_QUERY = OpenApiResponse(QueryErrorOutputSerializer, description="Malformed query parameters.")
UNAUTHENTICATED = OpenApiResponse(ErrorDetailOutputSerializer, description="Not logged in.")
FORBIDDEN = OpenApiResponse(ErrorDetailOutputSerializer, description="Logged in, but not staff.")
# Public reads need no token, but one that is sent is checked: an expired or revoked one is refused, not ignored.
BAD_TOKEN = OpenApiResponse(
    ErrorDetailOutputSerializer,
    description="A token was sent and it is invalid, expired or revoked (none is needed here).",
)
