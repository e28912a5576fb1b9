"""A per-user index of site session keys in Redis (``sess:user:<id>``), so a ban can end them.

Django's session store cannot be queried by user (the user id is inside the encoded data),
so each login adds its session key here and each logout removes it. An addition that fails
while Redis is unreachable is retried at this process's next contact with Redis
(accounts/session_store.py asks on each session read), and a signed-in session read from
MongoDB is added again then, so a session created during an outage is indexed once Redis is back.
"""

from __future__ import annotations

import logging
import threading
from importlib import import_module
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from common.redis_debts import redis_debt_owed

logger = logging.getLogger(__name__)
PREFIX = "sess:user"

# Additions that failed while Redis was unreachable: session key -> user id.
_unindexed: dict[str, str] = {}
_unindexed_lock = threading.Lock()


def site_sessions_key(user_id: object) -> str:
    """The set of one user's site session keys."""
    return f"{PREFIX}:{user_id}"


def site_session_index_add(*, user_id: object, session_key: str | None) -> None:
    """Remember that ``session_key`` belongs to the user (expires with the session cookie)."""
    if not session_key:
        return
    try:
        _index(get_redis_connection("default"), {session_key: str(user_id)})
    except RedisError as error:
        # Retried at the next contact. A ban works meanwhile: inactive users fail the per-request user check.
        with _unindexed_lock:
            _unindexed[session_key] = str(user_id)
        redis_debt_owed("sessions to index", site_session_index_missed)
        logger.warning("could not index session of user %s (retried at the next contact): %s", user_id, error)


def _index(redis: Any, sessions: dict[str, str]) -> None:
    pipe = redis.pipeline()
    for session_key, user_id in sessions.items():
        pipe.sadd(site_sessions_key(user_id), session_key)
        pipe.expire(site_sessions_key(user_id), settings.SESSION_COOKIE_AGE)
    pipe.execute()


def site_session_index_missed() -> None:
    """Add the sessions whose indexing failed while Redis was unreachable; raises RedisError if it still is."""
    if not _unindexed:
        return
    with _unindexed_lock:
        pending = dict(_unindexed)
    _index(get_redis_connection("default"), pending)
    with _unindexed_lock:
        for session_key in pending:
            _unindexed.pop(session_key, None)


def site_session_index_remove(*, user_id: object, session_key: str | None) -> None:
    """Forget a session key at logout."""
    if not session_key:
        return
    with _unindexed_lock:
        _unindexed.pop(session_key, None)
    try:
        get_redis_connection("default").srem(site_sessions_key(user_id), session_key)
    except RedisError as error:
        logger.warning("could not unindex session of user %s: %s", user_id, error)


def site_sessions_end_all(*, user_id: object) -> int:
    """Delete every indexed site session of the user; returns how many were ended."""
    redis = get_redis_connection("default")
    site_session_index_missed()
    keys = [key.decode() for key in redis.smembers(site_sessions_key(user_id))]
    store: Any = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).revoke()
    redis.delete(site_sessions_key(user_id))
    return len(keys)
