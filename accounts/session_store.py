"""Site sessions: every session stored in MongoDB, read from its copy in Redis (``SESSION_ENGINE``).

Django's ``cached_db`` backend with these changes (docs/decisions/0008-site-sessions-in-redis.md):

- **A write Redis did not take moves the session to a new key.** A save always reaches MongoDB
  first (or fails the request). When the copy in Redis cannot be updated (Redis down, full, or
  slow), Redis may keep an older copy under the old key, and an append-only Redis restarted
  after an outage comes back holding it: a cart line acknowledged meanwhile would be read back
  lost. So the session is saved again under a new key, one Redis has never seen, and the browser
  gets that key in its cookie: every reader, in any process, misses in Redis and reads MongoDB.
  The old key's row stays readable in MongoDB for ``SUPERSEDED_GRACE_SECONDS``, for requests
  already on their way with the old cookie.
- **A copy is filled only where none is**: a read that missed fills Redis with ``add`` (SET NX),
  so it cannot overwrite the newer copy that a concurrent save has just stored.
- **One round trip brings what the page needs of the user**: the copy is read by a Lua script that
  also reads, for a signed-in session, the keys other modules registered for its user
  (common/per_user_keys.py: the user's card, the pending-orders count); they are left in
  ``per_user_values`` for their owners. A caller with a Redis read of its own can send this
  script in its round trip (``read_call`` and ``load_from``; shop/page_cache.py does for a
  signed-in visitor's cached page).
- **Redis errors never fail a request**: a read falls back to MongoDB; a delete that fails is
  retried at the process's next contact with Redis; a session read from MongoDB while Redis
  answers is added back to the user's session index (accounts/site_sessions.py), which repairs
  the index after an outage.

Keys: ``sess:data:<session key>`` in the ``sessions`` cache (django-redis, JSON), TTL the
session's own expiry. Redis must not evict them for memory (README, "Redis key schema").
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from accounts.blocklist import revocation_execute, revocation_pipeline
from accounts.site_sessions import site_session_index_add, site_session_index_missed
from common.per_user_keys import USER, per_user_key_templates
from common.redis_debts import redis_debt_owed
from common.redis_together import ScriptCall

logger = logging.getLogger(__name__)

CACHE_KEY_PREFIX = "data:"
SUPERSEDED_GRACE_SECONDS = 60

# The session's copy and, when it is signed in, the keys registered in common/per_user_keys.py for its
# user (computed here from the user id inside the copy: single Redis node only, as shop/cache.py).
_READ_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {} end
local ok, data = pcall(cjson.decode, raw)
if not ok or type(data) ~= 'table' then return {raw} end
local user = data['_auth_user_id']
if type(user) ~= 'string' or #ARGV == 0 then return {raw} end
local keys = {}
for i = 1, #ARGV do keys[i] = (string.gsub(ARGV[i], '{user}', function() return user end)) end
local answer = {raw}
for i, value in ipairs(redis.call('MGET', unpack(keys))) do answer[i + 1] = value end
return answer
"""
_read_script: Any = None

# Session keys whose copy could not be deleted from Redis (a logout during an outage).
_undeleted: set[str] = set()
_undeleted_lock = threading.Lock()


def session_cache_key(key: str, key_prefix: str, version: int) -> str:
    """django-redis key function of the ``sessions`` cache: ``sess:data:<session key>``, no version."""
    return f"{key_prefix}:{key}"


def _delete_missed_now() -> None:
    SessionStore()._delete_missed()


class SessionStore(CachedDBStore):
    """``cached_db`` that never lets Redis hold a copy older than what MongoDB acknowledged."""

    cache_key_prefix = CACHE_KEY_PREFIX

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # Values of common/per_user_keys.py's keys for this session's user, read with the session.
        self.per_user_values: dict[str, Any] = {}

    def _delete_missed(self) -> None:
        if not _undeleted:
            return
        with _undeleted_lock:
            keys = list(_undeleted)
        if keys:
            self._cache.delete_many([self.cache_key_prefix + key for key in keys])
            with _undeleted_lock:
                _undeleted.difference_update(keys)

    def _read_call(self, connection: Any) -> ScriptCall:
        global _read_script
        if _read_script is None:
            _read_script = connection.register_script(_READ_SCRIPT)
        return ScriptCall(connection, _read_script, [self._cache.make_key(self.cache_key)], per_user_key_templates())

    def _copy_from(self, found: list[Any]) -> dict[str, Any] | None:
        """The session's copy from the read script's answer; the user's keys go to ``per_user_values``."""
        if not found:
            return None
        data = self._cache.client.decode(found[0])
        user_id = data.get(SESSION_KEY) if isinstance(data, dict) else None
        templates = per_user_key_templates()
        if user_id and len(found) == len(templates) + 1:
            keys = [template.replace(USER, str(user_id)) for template in templates]
            self.per_user_values = dict(zip(keys, found[1:], strict=True))
        return data

    def read_call(self) -> ScriptCall | None:
        """The call that reads this session's copy and its user's keys, for a caller that sends it in a round trip
        of its own (common/redis_together.py) and hands the answer to ``load_from``; None when the session is read
        already, has no key, or has a copy to delete first (a logout Redis missed)."""
        if hasattr(self, "_session_cache") or self.session_key is None or _undeleted:
            return None
        return self._read_call(get_redis_connection(settings.SESSION_CACHE_ALIAS))

    def load_from(self, found: list[Any]) -> None:
        """Take the answer of ``read_call()``'s call as this session's read (unless it was read meanwhile)."""
        if not hasattr(self, "_session_cache"):
            site_session_index_missed()
            self._session_cache = self._loaded(self._copy_from(found), reachable=True)

    def load(self) -> dict[str, Any]:
        try:
            self._delete_missed()
            site_session_index_missed()
            connection = get_redis_connection(settings.SESSION_CACHE_ALIAS)
            data = self._copy_from(self._read_call(connection).run_alone())
            reachable = True
        except RedisError as error:
            logger.warning("Redis unavailable, reading the session from MongoDB: %s", error)
            data, reachable = None, False
        return self._loaded(data, reachable=reachable)

    def _loaded(self, data: dict[str, Any] | None, *, reachable: bool) -> dict[str, Any]:
        """The session: its copy, or (none in Redis) its row in MongoDB, copied to Redis when it answers."""
        if data is not None:
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        if reachable:
            try:
                self._cache.add(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
            except RedisError as error:
                logger.warning("could not cache session: %s", error)
            if data.get(SESSION_KEY):
                site_session_index_add(user_id=data[SESSION_KEY], session_key=self.session_key)
        return data

    def exists(self, session_key: str | None) -> bool:
        # MongoDB only: Redis may hold copies of sessions that are over (see delete).
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        DBStore.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except RedisError as error:
            if must_create:
                return None  # a new key: Redis holds no copy of it to go stale
            logger.warning("could not cache the session, moving it to a new key: %s", error)
            self._supersede()
        return None

    def _supersede(self) -> None:
        """Store the session under a new key Redis has never seen; the old key's row expires soon."""
        old_key = self.session_key
        while True:
            self._session_key = self._get_new_session_key()
            try:
                DBStore.save(self, must_create=True)
            except CreateError:
                continue
            break
        self.modified = True  # the response sends the new key
        grace_end = timezone.now() + timedelta(seconds=SUPERSEDED_GRACE_SECONDS)
        self.model.objects.filter(session_key=old_key).update(expire_date=grace_end)
        user_id = self._session.get(SESSION_KEY)
        if user_id:
            site_session_index_add(user_id=user_id, session_key=self.session_key)

    def delete(self, session_key: str | None = None) -> None:
        self._delete(session_key or self.session_key, revoking=False)

    def flush(self) -> None:
        """Log out: the session is deleted, and its copy's deletion is held by Redis's replicas."""
        self.clear()
        self._delete(self.session_key, revoking=True)
        self._session_key = None

    def revoke(self) -> None:
        """End this session (a ban, "log out everywhere"), as ``flush`` does for the visitor's own."""
        self._delete(self.session_key, revoking=True)

    def _delete(self, key: str | None, *, revoking: bool) -> None:
        """Delete the row and the copy. ``revoking``: the copy's deletion waits for the replicas
        (accounts/blocklist.py), so a failover cannot bring the copy, and the sign-in, back;
        ``RevocationUnconfirmed`` when they do not acknowledge it in time."""
        DBStore.delete(self, key)
        if key is None:
            return
        try:
            self._delete_missed()
            pipe = revocation_pipeline(get_redis_connection(settings.SESSION_CACHE_ALIAS))
            pipe.delete(self._cache.make_key(self.cache_key_prefix + key))
            if revoking:
                revocation_execute(pipe)
            else:
                pipe.execute()
        except RedisError as error:
            with _undeleted_lock:
                _undeleted.add(key)
            redis_debt_owed("session copies to delete", _delete_missed_now)
            logger.warning("could not delete the session's copy from Redis (retried at the next contact): %s", error)

    # The async API runs the same code in a thread (nothing in Tienda calls it on a hot path).

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
