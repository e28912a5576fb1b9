"""The journeys' server is the real one: healthy, with the demo catalog loaded."""

from __future__ import annotations

from tests.e2e.app import App


def test_the_running_app_is_healthy_and_seeded(app: App) -> None:
    status, body = app.stack.get("/healthz")
    assert status == 200, body
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {"mongodb": "ok", "redis": "ok"}
    status, products = app.stack.get("/api/products/?page_size=1")
    assert status == 200
    assert products["count"] == 60
