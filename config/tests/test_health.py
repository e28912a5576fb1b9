from __future__ import annotations

import pytest
from django.test import Client, override_settings

from common.tests.helpers import caches_at, unreachable_redis_url
from config.health import redact_url
from config.redis_settings import RedisTarget

pytestmark = pytest.mark.django_db


def test_healthz_reports_both_dependencies_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["dependencies"]["mongodb"]["status"] == "ok"
    assert body["dependencies"]["redis"]["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_names_redis_when_it_is_down(client: Client, settings) -> None:
    dead_url = unreachable_redis_url()
    caches = caches_at(dead_url, settings.CACHES)
    with override_settings(CACHES=caches, REDIS_URL=dead_url, REDIS_TARGET=RedisTarget(url=dead_url)):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["dependencies"]["redis"]["status"] == "down"
    assert body["dependencies"]["redis"]["address"] == dead_url
    assert "Connection" in body["dependencies"]["redis"]["error"]
    assert body["dependencies"]["mongodb"]["status"] == "ok"


def test_healthz_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mongodb://app:hunter2@db/tienda?replicaSet=rs0", "mongodb://app:***@db/tienda?replicaSet=rs0"),
        ("redis://127.0.0.1:6390/0", "redis://127.0.0.1:6390/0"),
    ],
)
def test_passwords_never_reach_health_output(url: str, expected: str) -> None:
    assert redact_url(url) == expected
