"""A per-user index of site session keys in Redis (``sess:user:<id>``), so a ban can end them.

Django's session store cannot be queried by user (the user id is inside the encoded data),
so each login adds its session key here and each logout removes it.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
PREFIX = "sess:user"


def site_sessions_key(user_id: object) -> str:
    """The set of one user's site session keys."""
    return f"{PREFIX}:{user_id}"


def site_session_index_add(*, user_id: object, session_key: str | None) -> None:
    """Remember that ``session_key`` belongs to the user (expires with the session cookie)."""
    if not session_key:
        return
    try:
        redis = get_redis_connection("default")
        pipe = redis.pipeline()
        pipe.sadd(site_sessions_key(user_id), session_key)
        pipe.expire(site_sessions_key(user_id), settings.SESSION_COOKIE_AGE)
        pipe.execute()
    except RedisError as error:
        # The ban still works without it: inactive users fail Django's per-request user check.
        logger.warning("could not index session of user %s: %s", user_id, error)


def site_session_index_remove(*, user_id: object, session_key: str | None) -> None:
    """Forget a session key at logout."""
    if not session_key:
        return
    try:
        get_redis_connection("default").srem(site_sessions_key(user_id), session_key)
    except RedisError as error:
        logger.warning("could not unindex session of user %s: %s", user_id, error)


def site_sessions_end_all(*, user_id: object) -> int:
    """Delete every indexed site session of the user; returns how many were ended."""
    redis = get_redis_connection("default")
    keys = [key.decode() for key in redis.smembers(site_sessions_key(user_id))]
    store: Any = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    redis.delete(site_sessions_key(user_id))
    return len(keys)
