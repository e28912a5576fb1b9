"""common/guarded_cache.py against the tests' Redis: a fill that raced a writer stores nothing, and
forgets that failed while Redis was down are done before anything is read again."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_redis import get_redis_connection

from common import guarded_cache
from common.guarded_cache import GuardedCacheUnavailable, guarded_forget, guarded_read
from common.tests.helpers import redis_down_caches, redis_round_trips

KEY, GUARD = "test:value", "test:value-guard"


@pytest.fixture(autouse=True)
def _clean(empty_redis: None) -> None:
    guarded_cache._unforgotten.clear()


def read(build: object) -> object:
    return guarded_read(key=KEY, guard_key=GUARD, ttl_seconds=60, build=build)  # type: ignore[arg-type]


def test_a_miss_builds_stores_and_the_next_read_is_a_hit() -> None:
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"count": 3}

    assert read(build) == {"count": 3}
    assert read(build) == {"count": 3}
    assert len(builds) == 1
    assert 0 < get_redis_connection("default").ttl(KEY) <= 60


def test_none_is_answered_but_not_stored() -> None:
    assert read(lambda: None) is None
    assert not get_redis_connection("default").exists(KEY)


def test_a_reader_that_raced_a_writer_stores_nothing() -> None:
    def build_then_writer_changes_it() -> dict[str, str]:
        old = {"name": "old"}  # what the reader got from the database ...
        guarded_forget(key=KEY, guard_key=GUARD)  # ... just before a writer stored the new one
        return old

    assert read(build_then_writer_changes_it) == {"name": "old"}  # answered to this request only
    assert not get_redis_connection("default").exists(KEY)
    assert read(lambda: {"name": "new"}) == {"name": "new"}
    assert read(lambda: {"name": "never built"}) == {"name": "new"}


def test_forget_drops_the_copy() -> None:
    read(lambda: {"name": "old"})
    guarded_forget(key=KEY, guard_key=GUARD)
    assert read(lambda: {"name": "new"}) == {"name": "new"}


def test_redis_down_reads_build_and_a_strict_forget_raises(settings) -> None:
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        assert read(lambda: {"from": "database"}) == {"from": "database"}
        with pytest.raises(GuardedCacheUnavailable):
            guarded_forget(key=KEY, guard_key=GUARD, strict=True)
    assert guarded_cache._unforgotten == {}


def test_a_forget_missed_while_redis_was_down_is_done_before_the_next_read(settings) -> None:
    read(lambda: {"name": "old"})  # what an append-only Redis will come back holding
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        guarded_forget(key=KEY, guard_key=GUARD)  # the database changed meanwhile
    assert guarded_cache._unforgotten == {KEY: GUARD}

    assert read(lambda: {"name": "new"}) == {"name": "new"}
    assert guarded_cache._unforgotten == {}


def test_prefetched_values_spare_the_read_and_their_guard_still_refuses_a_raced_fill() -> None:
    redis = get_redis_connection("default")
    redis.set(KEY, '{"name": "cached"}')
    with redis_round_trips() as sent:
        value = guarded_read(key=KEY, guard_key=GUARD, ttl_seconds=60, build=dict,
                             prefetched={KEY: b'{"name": "cached"}', GUARD: None})  # fmt: skip
    assert (value, len(sent)) == ({"name": "cached"}, 0)

    redis.delete(KEY)
    prefetched = {KEY: None, GUARD: None}  # read with the session, before a writer forgot the value
    guarded_forget(key=KEY, guard_key=GUARD)
    assert guarded_read(key=KEY, guard_key=GUARD, ttl_seconds=60, build=lambda: {"name": "old"},
                        prefetched=prefetched) == {"name": "old"}  # fmt: skip
    assert not redis.exists(KEY)


def test_prefetched_values_are_not_trusted_while_a_forget_is_owed(settings) -> None:
    read(lambda: {"name": "old"})
    prefetched = {KEY: b'{"name": "old"}', GUARD: None}  # read just as Redis came back
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        guarded_forget(key=KEY, guard_key=GUARD)
    assert guarded_read(key=KEY, guard_key=GUARD, ttl_seconds=60, build=lambda: {"name": "new"},
                        prefetched=prefetched) == {"name": "new"}  # fmt: skip
