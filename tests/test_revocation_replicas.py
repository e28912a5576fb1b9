"""A revocation answers success only once Redis's replicas hold it (accounts/blocklist.py, WAIT).

Against the tests' own Redis, which has no replica, requiring one makes every revocation wait and
then answer 503; against a real primary with two replicas behind three sentinels
(devstack/sentinel.py), the revocation is on every replica when the call returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from html import escape
from pathlib import Path

import httpx
import pytest
import redis
from django.test import override_settings
from django.utils import translation

from accounts import blocklist
from accounts.models import User
from config.outages import CODE_REVOCATION_UNCONFIRMED, ERROR_REVOCATION_UNCONFIRMED
from config.redis_settings import cache_settings, redis_target
from devstack.processes import ProcessGroup
from devstack.sentinel import MASTER_NAME, SentinelSet, start_sentinel_set

PASSWORD = "correct horse battery"
NO_REPLICA_ANSWERS = {"REDIS_REVOCATION_REPLICAS": 1, "REDIS_REVOCATION_WAIT_MS": 100}


@pytest.fixture
def signed_up(transactional_db, live_server) -> Iterator[tuple[httpx.Client, User]]:
    """An API client on the live server, and a shopper account."""
    with httpx.Client(base_url=live_server.url, timeout=20) as client:
        yield client, User.objects.create_user("ana@example.com", PASSWORD)


def english(message: object) -> str:
    with translation.override("en"):
        return str(message)


def test_an_api_logout_no_replica_acknowledged_is_a_503_and_still_revokes(signed_up: tuple[httpx.Client, User]) -> None:
    http, shopper = signed_up
    pair = http.post("/api/auth/token/", json={"email": shopper.email, "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {pair['access']}"}
    with override_settings(**NO_REPLICA_ANSWERS):
        started = time.monotonic()
        response = http.post("/api/auth/logout/", headers=bearer)
        waited = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": english(ERROR_REVOCATION_UNCONFIRMED), "code": CODE_REVOCATION_UNCONFIRMED}
    assert response.headers["Retry-After"]
    assert waited >= 0.1  # it waited for the replica before answering
    # The primary took the revocation: the token is refused, and logging out again is safe.
    assert http.get("/api/auth/sessions/", headers=bearer).status_code == 401


@pytest.mark.django_db
def test_a_site_logout_no_replica_acknowledged_is_a_503_page() -> None:
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_user("eva@example.com", PASSWORD))
    with override_settings(**NO_REPLICA_ANSWERS):
        response = client.post("/account/logout/")
    assert response.status_code == 503
    assert escape(english(ERROR_REVOCATION_UNCONFIRMED)) in response.content.decode()


def test_the_unconfirmed_revocation_message_is_translated() -> None:
    with translation.override("es"):
        assert str(ERROR_REVOCATION_UNCONFIRMED).startswith("No se ha podido confirmar el cierre de sesión")


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    group = ProcessGroup()
    try:
        yield start_sentinel_set(group, Path(tmp_path_factory.mktemp("sentinels")))
    finally:
        group.stop_all()


def test_with_sentinels_a_revocation_is_on_every_replica_when_it_returns(sentinels: SentinelSet, settings) -> None:
    target = redis_target(
        url="", sentinels=sentinels.sentinel_list, master_name=MASTER_NAME, db=0, password="", sentinel_password=""
    )
    caches = {"default": cache_settings(target, key_prefix="cache", timeout_seconds=1)}
    with override_settings(CACHES=caches, REDIS_REVOCATION_REPLICAS=2, REDIS_REVOCATION_WAIT_MS=2000):
        blocklist.revoke_token(jti="j-1", expires_at=int(time.time()) + 60)
        blocklist.cut_off(user_id="u-1", ttl_seconds=60)
    primary = sentinels.primary_port()
    for port in sentinels.servers:
        if port != primary:
            replica = redis.Redis(port=port)
            assert replica.exists(blocklist.revoked_key("j-1"), blocklist.cutoff_key("u-1")) == 2, port
