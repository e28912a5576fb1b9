"""A value cached in Redis that its writers forget after each change, and that a reader can never
put back stale.

The classic cache-aside race: a reader misses, reads the database (old), a writer changes the
database and deletes the cached copy, then the reader stores what it read: the old value stays
until its TTL. Here each value key has a guard key beside it. A writer, after its database write,
sets the guard to a new random token and deletes the value in one transaction; a reader notes the
guard when it misses, and stores what it built only if the guard still holds the token it noted
(one Lua script). A reader that raced a writer therefore stores nothing, and the next reader
builds again.

Redis errors fail open: a read that cannot reach Redis builds from the database and stores
nothing. A forget that cannot reach Redis either raises (``strict``: the caller refuses the
change rather than risk a stale copy) or is remembered by this process and done at its next
contact with Redis, before anything is read (an append-only Redis comes back holding the copies
it had before the outage). The owners of the keys (``accounts/user_cache.py``,
``orders/pending_badge.py``) name them and choose their TTLs.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from common.redis_debts import redis_debt_owed

logger = logging.getLogger(__name__)

# A guard only has to outlive one reader's database read; it expires after this.
GUARD_TTL_SECONDS = 600

_FILL_SCRIPT = """
local guard = redis.call('GET', KEYS[2])
if (guard or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
_fill_script: Any = None

# Forgets that failed while Redis was unreachable: value key -> guard key.
_unforgotten: dict[str, str] = {}
_unforgotten_lock = threading.Lock()


class GuardedCacheUnavailable(RuntimeError):
    """A strict forget could not reach Redis: the cached copy may still be served."""


def _redis() -> Any:
    return get_redis_connection("default")


def _forget_in(connection: Any, pairs: dict[str, str]) -> None:
    pipe = connection.pipeline(transaction=True)
    for key, guard_key in pairs.items():
        pipe.set(guard_key, secrets.token_hex(8), ex=GUARD_TTL_SECONDS)
        pipe.delete(key)
    pipe.execute()


def _forget_missed_now() -> None:
    _forget_missed(_redis())


def _forget_missed(connection: Any) -> None:
    """Do the forgets this process could not do while Redis was unreachable."""
    with _unforgotten_lock:
        pending = dict(_unforgotten)
    if not pending:
        return
    _forget_in(connection, pending)
    with _unforgotten_lock:
        for key in pending:
            _unforgotten.pop(key, None)
    logger.info("Redis is back: forgot %d cached values changed while it was unreachable", len(pending))


def guarded_read(
    *, key: str, guard_key: str, ttl_seconds: int, build: Callable[[], Any], prefetched: Mapping[str, Any] | None = None
) -> Any:
    """The JSON value cached at ``key``, or ``build()`` stored there unless a writer raced it.

    ``build`` answers a JSON-serialisable value, or None for "nothing to cache" (returned as is).
    ``prefetched`` holds the key's and the guard's values when they were read already in this
    request (common/per_user_keys.py); they are not used while this process owes Redis a forget.
    """
    global _fill_script
    try:
        connection = _redis()
        if _unforgotten:
            _forget_missed(connection)
            prefetched = None  # read before the forgets were done
        if prefetched is not None and key in prefetched and guard_key in prefetched:
            raw, guard = prefetched[key], prefetched[guard_key]
        else:
            raw, guard = connection.mget([key, guard_key])
    except RedisError as error:
        logger.warning("Redis unavailable, reading %s from the database: %s", key, error)
        return build()
    if raw is not None:
        return json.loads(raw)
    value = build()
    if value is None:
        return None
    try:
        if _fill_script is None:
            _fill_script = connection.register_script(_FILL_SCRIPT)
        token = guard.decode() if isinstance(guard, bytes) else (guard or "")
        _fill_script(keys=[key, guard_key], args=[token, json.dumps(value), ttl_seconds], client=connection)
    except RedisError as error:
        logger.warning("could not cache %s: %s", key, error)
    return value


def guarded_forget(*, key: str, guard_key: str, strict: bool = False) -> None:
    """Drop the cached copy after a database write, so the next read builds it from the new data.

    ``strict``: raise ``GuardedCacheUnavailable`` when Redis cannot be reached (call it before the
    write too, so the change can be refused). Otherwise the forget is retried at this process's
    next contact with Redis.
    """
    try:
        connection = _redis()
        if _unforgotten:
            _forget_missed(connection)
        _forget_in(connection, {key: guard_key})
    except RedisError as error:
        if strict:
            raise GuardedCacheUnavailable(key) from error
        with _unforgotten_lock:
            _unforgotten[key] = guard_key
        redis_debt_owed("guarded copies to forget", _forget_missed_now)
        logger.warning("could not forget cached %s (retried at the next contact with Redis): %s", key, error)
