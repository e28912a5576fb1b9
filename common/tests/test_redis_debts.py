"""What a write left owed to Redis while it was unreachable is paid by the process's own thread
once Redis answers, without waiting for that process's next contact (common/redis_debts.py)."""

from __future__ import annotations

import time

from django.test import override_settings
from django_redis import get_redis_connection

from common import guarded_cache, redis_debts
from common.guarded_cache import guarded_forget, guarded_read
from common.tests.helpers import redis_down_caches

KEY, GUARD = "test:debt-value", "test:debt-value-guard"


def wait_until_paid(timeout: float = 5.0) -> float:
    started = time.monotonic()
    while redis_debts.redis_debts():
        assert time.monotonic() - started < timeout, f"still owed: {redis_debts.redis_debts()}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_forget_missed_while_redis_was_down_is_paid_in_the_background_once_it_answers(settings, empty_redis) -> None:
    settings.REDIS_DEBTS_RETRY_SECONDS = 0.2
    guarded_cache._unforgotten.clear()
    guarded_read(key=KEY, guard_key=GUARD, ttl_seconds=60, build=lambda: {"name": "old"})
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        guarded_forget(key=KEY, guard_key=GUARD)  # the database changed; the forget fails...
        time.sleep(0.5)  # ...and so do the thread's retries while Redis is unreachable
        assert "guarded copies to forget" in redis_debts.redis_debts()
    assert guarded_cache._unforgotten == {KEY: GUARD}
    waited = wait_until_paid()  # nothing in this process touches Redis from here on but the thread
    assert guarded_cache._unforgotten == {}
    assert get_redis_connection("default").get(KEY) is None  # another process now reads the new data
    assert waited < 2


def test_no_thread_retries_when_the_setting_is_zero(settings, empty_redis) -> None:
    settings.REDIS_DEBTS_RETRY_SECONDS = 0
    guarded_cache._unforgotten.clear()
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        guarded_forget(key=KEY, guard_key=GUARD)
    assert redis_debts.redis_debts() == frozenset()
    time.sleep(0.3)
    assert guarded_cache._unforgotten == {KEY: GUARD}  # paid at this process's next contact instead
    guarded_cache._unforgotten.clear()
