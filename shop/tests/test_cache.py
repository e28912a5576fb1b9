"""shop/cache.py against the real Redis server started for the tests."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import override_settings
from django_redis import get_redis_connection
from redis.connection import Connection

from common.tests.helpers import redis_down_caches
from shop import cache
from tests.concurrency import all_at_once

pytestmark = pytest.mark.usefixtures("empty_redis")


def test_second_lookup_is_a_hit_and_counted() -> None:
    builds = []

    def build() -> dict:
        builds.append(1)
        return {"answer": 42}

    assert cache.cached("demo", key="k", build=build) == {"answer": 42}
    assert cache.cached("demo", key="k", build=build) == {"answer": 42}
    assert len(builds) == 1
    assert cache.stats(["demo"])["demo"] | {"hit_ratio_percent": 0} == {
        "lookup": 2, "miss": 1, "hit": 1, "rebuild": 1, "invalidation": 0, "hit_ratio_percent": 0,
    }  # fmt: skip


def test_invalidation_makes_old_answers_unreachable_without_scanning() -> None:
    value = {"v": 1}
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 1}
    value["v"] = 2
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 1}, "still cached"
    cache.invalidate("demo")
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 2}
    assert cache.stats(["demo"])["demo"]["invalidation"] == 1


def test_dependent_namespaces_invalidate_their_dependants() -> None:
    value = {"v": 1}
    cache.cached("page", depends_on=("names",), key="k", build=lambda: dict(value))
    value["v"] = 2
    cache.invalidate("other")
    assert cache.cached("page", depends_on=("names",), key="k", build=lambda: dict(value)) == {"v": 1}
    cache.invalidate("names")
    assert cache.cached("page", depends_on=("names",), key="k", build=lambda: dict(value)) == {"v": 2}


def test_every_key_written_has_a_ttl(settings) -> None:
    cache.cached("demo", key="k", build=lambda: 1)
    cache.invalidate("demo")
    redis = get_redis_connection("default")
    keys = redis.keys("*")
    assert keys
    assert all(redis.ttl(key) > 0 for key in keys), {key: redis.ttl(key) for key in keys}
    assert all(key.startswith(b"cache:") for key in keys)


def test_answers_expire_after_the_ttl(settings) -> None:
    settings.CACHE_TTL_SECONDS = 1
    calls = []
    cache.cached("demo", key="k", build=lambda: calls.append(1) or len(calls))
    assert cache.cached("demo", key="k", build=lambda: calls.append(1) or len(calls)) == 1
    time.sleep(1.2)
    assert cache.cached("demo", key="k", build=lambda: calls.append(1) or len(calls)) == 2


def test_a_lost_version_key_never_resurrects_old_answers() -> None:
    value = {"v": 1}
    cache.cached("demo", key="k", build=lambda: dict(value))
    value["v"] = 2
    get_redis_connection("default").delete(cache.version_key("demo"))  # e.g. evicted
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 2}


def test_stampede_on_a_missing_key_rebuilds_it_once(patient_stampede: None) -> None:
    builds = []
    lock = threading.Lock()

    def slow_build() -> dict:
        with lock:
            builds.append(1)
        time.sleep(0.3)
        return {"rows": list(range(10))}

    results = all_at_once(50, lambda: cache.cached("hot", key="listing", build=slow_build), timeout=30)
    assert len(results) == 50
    assert all(result == {"rows": list(range(10))} for result in results)
    assert len(builds) == 1
    assert cache.stats(["hot"])["hot"]["rebuild"] == 1


def test_redis_down_fails_open(settings) -> None:
    dead = redis_down_caches(settings.CACHES)
    with override_settings(CACHES=dead):
        started = time.monotonic()
        assert cache.cached("demo", key="k", build=lambda: {"from": "db"}) == {"from": "db"}
        cache.invalidate("demo")  # logged, not raised
        assert cache.stats(["demo"]) == {}
        assert time.monotonic() - started < 2


def test_an_invalidation_missed_while_redis_was_down_happens_when_it_answers(settings) -> None:
    # An append-only Redis comes back with what it cached before the outage: the write made
    # during the outage must still make that answer unreachable.
    cache.invalidate()  # what earlier tests with a dead Redis left pending
    value = {"v": 1}
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 1}
    value["v"] = 2  # the database write...
    dead = redis_down_caches(settings.CACHES)
    with override_settings(CACHES=dead):
        cache.invalidate("demo")  # ...whose invalidation fails
        assert "demo" in cache.unbumped()
        assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 2}, "from the database"
    assert cache.cached("demo", key="k", build=lambda: dict(value)) == {"v": 2}, "not the answer from before"
    assert cache.unbumped() == frozenset()


@pytest.mark.parametrize("parts", [{"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}])
def test_digest_ignores_dict_order(parts: dict) -> None:
    assert cache.digest(parts) == cache.digest({"a": 1, "b": [1, 2]})


def test_a_miss_costs_two_round_trips_and_a_hit_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # The lookup counts the miss and takes the rebuild lock; the builder stores, counts and unlocks in one more trip.
    cache.cached("demo", key="warm-up", build=lambda: 0)  # the version key exists, the script is loaded
    sent = []
    real_send = Connection.send_packed_command

    def counting_send(self: Connection, command: object, check_health: bool = True) -> None:
        sent.append(command)
        real_send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting_send)
    assert cache.cached("demo", key="k", build=lambda: {"v": 1}) == {"v": 1}
    assert len(sent) == 2, "a miss: the lookup, then the store"
    sent.clear()
    assert cache.cached("demo", key="k", build=lambda: {"v": 2}) == {"v": 1}
    assert len(sent) == 1, "a hit: the lookup alone"
    assert get_redis_connection("default").keys(f"{cache.LOCK_PREFIX}*") == [], "the lock is released"


def test_a_build_that_fails_releases_its_lock_at_once() -> None:
    def failing() -> dict:
        raise ValueError("the database went away")

    with pytest.raises(ValueError, match="went away"):
        cache.cached("demo", key="k", build=failing)
    assert get_redis_connection("default").keys(f"{cache.LOCK_PREFIX}*") == []
    started = time.monotonic()
    assert cache.cached("demo", key="k", build=lambda: {"v": 1}) == {"v": 1}
    assert time.monotonic() - started < cache.WAIT_FOR_REBUILD_SECONDS / 2, "the next request rebuilt without waiting"
    assert cache.stats(["demo"])["demo"]["miss"] == 2
