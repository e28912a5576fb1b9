"""config/errors.py and the API's error rendering: unknown paths under /api/ answer JSON, others the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from config.errors import ERROR_API_NOT_FOUND, is_api_path

pytestmark = pytest.mark.django_db

SPANISH_API_NOT_FOUND = "No hay ningún punto de acceso de la API en esta dirección; /api/docs/ los enumera."


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == code
    return body


def test_is_api_path() -> None:
    assert [is_api_path(path) for path in ("/api/", "/api", "/api/orders/x/")] == [True, True, True]
    assert [is_api_path(path) for path in ("/apiary/", "/", "/account/api/")] == [False, False, False]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/"),
        ("get", "/api/nope/"),
        ("post", "/api/nope/"),
        ("delete", "/api/orders/x/y/z/"),
        ("get", "/api/products/1/reviews/"),
        ("get", "/api/<svg/onload=alert(1)>/"),
    ],
)
def test_unknown_api_paths_answer_json_404(client: Client, method: str, path: str) -> None:
    body = assert_json_error(getattr(client, method)(path), 404, "not_found")
    with translation.override("en"):  # an earlier test may have left another language active here
        assert body["detail"] == str(ERROR_API_NOT_FOUND)


def test_the_api_404_is_in_the_clients_language(client: Client) -> None:
    body = assert_json_error(client.get("/api/nope/", HTTP_ACCEPT_LANGUAGE="es"), 404, "not_found")
    assert body["detail"] == SPANISH_API_NOT_FOUND
    with translation.override("es"):
        assert str(ERROR_API_NOT_FOUND) == SPANISH_API_NOT_FOUND


@pytest.mark.parametrize("path", ["/nope/", "/apiary/", "/account/api/"])
def test_unknown_site_paths_keep_the_html_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.text
    spanish = client.get(path, HTTP_ACCEPT_LANGUAGE="es")
    assert "Página no encontrada" in spanish.text


def test_a_path_without_its_slash_still_redirects_first(client: Client) -> None:
    response = client.get("/api/products")
    assert response.status_code == 301
    assert response["Location"] == "/api/products/"


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/schema/"), ("put", "/api/docs/"), ("delete", "/api/products/"), ("post", "/api/categories/")],
)
def test_wrong_methods_answer_json_405_even_where_the_view_speaks_yaml_or_html(
    client: Client, method: str, path: str
) -> None:
    body = assert_json_error(getattr(client, method)(path), 405, "method_not_allowed")
    assert body["detail"] == f'Method "{method.upper()}" not allowed.'
    spanish = getattr(client, method)(path, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.json()["detail"] == f'Método "{method.upper()}" no permitido.'


def test_the_schema_and_docs_still_answer_in_their_own_formats(client: Client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert schema["Content-Type"].startswith("application/vnd.oai.openapi")
    assert schema.content.startswith(b"openapi:")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
