"""config/exceptions.py: every API error with a ``detail`` carries a ``code`` too."""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied, Throttled, ValidationError

from config.exceptions import api_exception_handler


def test_drf_errors_gain_their_code() -> None:
    cases = {
        NotAuthenticated(): "not_authenticated",
        PermissionDenied(): "permission_denied",
        NotFound("No such thing."): "not_found",
        Throttled(wait=3): "throttled",
    }
    for error, code in cases.items():
        response = api_exception_handler(error, {})
        assert response is not None
        assert response.data == {"detail": str(error.detail), "code": code}


def test_field_errors_and_other_exceptions_are_left_alone() -> None:
    response = api_exception_handler(ValidationError({"email": ["Enter a valid email address."]}), {})
    assert response is not None
    assert response.data == {"email": ["Enter a valid email address."]}
    assert api_exception_handler(ValueError("not an API error"), {}) is None
