"""Unknown paths over real HTTP (uvicorn, DEBUG off): JSON under /api/, the page elsewhere.

An API client probing paths (a typo, an old version, a scanner) gets the same ``{"detail",
"code"}`` shape as every other API error, in its language, with the usual security headers;
the unit cases are in config/tests/test_errors.py.
"""

from __future__ import annotations

import httpx
import pytest
from django.utils import translation

from config.errors import ERROR_API_NOT_FOUND
from tests.security.helpers import Server

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unknown_api_path_is_a_json_404_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        english = http.get("/api/v2/products/", headers={"Accept": "text/html"})
        spanish = http.post("/api/nope/", json={}, headers={"Accept-Language": "es"})
        page = http.get("/no-such-page/", headers={"Accept": "application/json"})

    assert english.status_code == 404
    assert english.headers["content-type"] == "application/json"
    with translation.override("en"):  # an earlier test may have left another language active here
        assert english.json() == {"detail": str(ERROR_API_NOT_FOUND), "code": "not_found"}
    assert spanish.status_code == 404
    assert spanish.json()["detail"].startswith("No hay ningún punto de acceso de la API")
    for response in (english, spanish, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
