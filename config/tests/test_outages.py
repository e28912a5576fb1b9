"""A request MongoDB could not serve gets a 503 (page or JSON), never a 500 (config/outages.py).

The real server is killed in tests/faults/test_mongodb_down.py; here the handler is driven with
the exceptions pymongo and django-mongodb-backend raise when the server is gone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.db import DatabaseError
from django.test import RequestFactory
from django.utils import translation
from django.utils.html import escape
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure, ServerSelectionTimeoutError

from config.outages import ERROR_DATABASE_UNAVAILABLE, ERROR_SERVER, database_unreachable, server_error


def wrapped(cause: Exception) -> DatabaseError:
    # What django-mongodb-backend raises: an empty DatabaseError whose cause is pymongo's error.
    try:
        raise DatabaseError from cause
    except DatabaseError as error:
        return error


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (wrapped(ServerSelectionTimeoutError("127.0.0.1:27018: [Errno 111] Connection refused")), True),
        (wrapped(AutoReconnect("connection closed")), True),
        (AutoReconnect("raw collection call"), True),
        (wrapped(OperationFailure("unknown operator: $foo")), False),
        (wrapped(DuplicateKeyError("E11000")), False),
        (ValueError("a bug"), False),
        (None, False),
    ],
)
def test_only_an_unreachable_server_counts_as_an_outage(error: BaseException | None, unreachable: bool) -> None:
    assert database_unreachable(error) is unreachable


def answer(path: str, error: Exception, language: str = "en"):
    request = RequestFactory().get(path)
    with translation.override(language):
        try:
            raise error
        except Exception:  # noqa: BLE001 - handler500 runs inside any exception's handling
            return server_error(request)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Whatever language an earlier test left active, the expected texts below are English.
    with translation.override("en"):
        yield


def test_pages_get_a_friendly_503_page() -> None:
    response = answer("/c/toys/", wrapped(ServerSelectionTimeoutError("timed out")))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "<h1>Back in a moment</h1>" in html
    assert escape(str(ERROR_DATABASE_UNAVAILABLE)) in html
    assert "Traceback" not in html
    assert "DatabaseError" not in html


def test_the_503_page_is_translated() -> None:
    html = answer("/", wrapped(AutoReconnect("reset")), language="es").content.decode()
    assert '<html lang="es">' in html
    assert "Back in a moment" not in html


def test_the_api_gets_503_json() -> None:
    response = answer("/api/orders/", wrapped(ServerSelectionTimeoutError("timed out")))
    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": str(ERROR_DATABASE_UNAVAILABLE), "code": "database_unavailable"}


def test_other_errors_stay_500() -> None:
    response = answer("/c/toys/", wrapped(OperationFailure("unknown operator")))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_other_api_errors_are_500_json() -> None:
    response = answer("/api/orders/", ValueError("a bug"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": str(ERROR_SERVER), "code": "server_error"}


@pytest.mark.django_db
def test_an_account_change_redis_cannot_record_is_a_503_and_is_not_saved(settings) -> None:
    """A block needs Redis to void the user's tokens and cached copy first: without it, 503, not a 500."""
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from common.tests.helpers import redis_down_caches
    from config.outages import ERROR_SIGN_IN_STORE_UNAVAILABLE

    users = get_user_model().objects
    boss = users.create_superuser("boss@example.com", "x")
    ana = users.create_user("ana@example.com", "x")
    client = Client(raise_request_exception=False)
    client.force_login(boss)
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        response = client.post("/admin/accounts/user/", {"action": "block_users", "_selected_action": [str(ana.pk)]})
    assert response.status_code == 503
    assert escape(str(ERROR_SIGN_IN_STORE_UNAVAILABLE)) in response.content.decode()
    assert response["Retry-After"]
    ana.refresh_from_db()
    assert ana.is_active
    assert ana.blocked_at is None


def test_the_sign_in_store_message_is_translated() -> None:
    from config.outages import ERROR_SIGN_IN_STORE_UNAVAILABLE

    with translation.override("es"):
        assert str(ERROR_SIGN_IN_STORE_UNAVAILABLE).startswith("Este cambio no se ha guardado")
