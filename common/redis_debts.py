"""What a process still owes Redis from an outage, retried every second until Redis answers.

A write made while Redis was unreachable is stored in MongoDB but leaves Redis work undone: a
cache namespace to bump (`shop/cache.py`), a guarded copy to forget (`common/guarded_cache.py`), a
session copy to delete (`accounts/session_store.py`), a session to index
(`accounts/site_sessions.py`), an analytics day to hand to the rebuild (`analytics/services.py`).
Each module keeps that list in the process that made the write and
pays it at its next contact with Redis. With several app processes, the others may serve the
stale copy meanwhile, and a process that gets no request would not pay for a long time. So each
module also hands its ``pay`` function here: one daemon thread per process calls it every
``REDIS_DEBTS_RETRY_SECONDS`` until it succeeds (docs/decisions/0013-several-app-processes.md).
With the setting at 0 (the test settings) no thread starts and the next contact pays, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# name -> (pay, generation): ``pay`` settles everything owed under ``name`` or raises RedisError.
_owed: dict[str, tuple[Callable[[], None], int]] = {}
_generation = 0
_lock = threading.Lock()
_thread: threading.Thread | None = None


def redis_debt_owed(name: str, pay: Callable[[], None]) -> None:
    """Call ``pay`` every ``REDIS_DEBTS_RETRY_SECONDS`` in the background until it returns without a RedisError."""
    global _generation, _thread
    if not settings.REDIS_DEBTS_RETRY_SECONDS:
        return
    with _lock:
        _generation += 1
        _owed[name] = (pay, _generation)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_retry_until_paid, name="redis-debts", daemon=True)
            _thread.start()


def redis_debts() -> frozenset[str]:
    """The names of what this process still owes Redis."""
    with _lock:
        return frozenset(_owed)


def _retry_until_paid() -> None:
    global _thread
    while True:
        time.sleep(settings.REDIS_DEBTS_RETRY_SECONDS or 1.0)
        with _lock:
            if not _owed:
                _thread = None
                return
            owed = dict(_owed)
        for name, (pay, generation) in owed.items():
            try:
                pay()
            except RedisError:
                continue  # still unreachable: next round
            except Exception:
                logger.exception("paying %s back to Redis failed; retried shortly", name)
                continue
            with _lock:
                # A debt added while ``pay`` ran has a newer generation and stays owed.
                if _owed.get(name, (None, None))[1] == generation:
                    del _owed[name]
            logger.info("paid %s back to Redis", name)
