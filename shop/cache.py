"""Cache-aside over Redis with versioned namespaces, stampede protection and counters.

Keys (all under django-redis's ``cache:`` prefix, see README "Redis key schema"):

- ``cache:shop:ver:<namespace>`` — the namespace's version; bumping it makes every
  answer cached under the old version unreachable at once, without scanning keys.
- ``cache:shop:val:<namespace>:<versions>:<digest>`` — a cached answer (TTL ``CACHE_TTL_SECONDS``).
- ``cache:shop:lock:<value key>`` — held by the one request rebuilding a missing answer (TTL 10 s),
  taken by the lookup that found the answer missing.
- ``cache:shop:stats:<family>`` — a hash of lookup / miss / rebuild / invalidation counters,
  where the family is the namespace up to its first dot (``product.<id>`` counts as ``product``).

Invalidation is race-free because writers bump versions *after* the database write: a
reader that sees the new version necessarily reads the new data. Every Redis error fails
open: the answer comes straight from MongoDB and the shopper notices nothing. A bump that
fails while Redis is down is retried at the process's next successful contact, so answers
cached before an outage are not served after it (tests/faults/test_redis_down.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from common.redis_debts import redis_debt_owed
from common.redis_together import ScriptCall, call_together

logger = logging.getLogger(__name__)

PREFIX = "cache:shop"
LOCK_PREFIX = f"{PREFIX}:lock:"
LOCK_TTL_MS = 10_000
WAIT_FOR_REBUILD_SECONDS = 5.0
POLL_SECONDS = 0.02
STAT_FIELDS = ("lookup", "miss", "rebuild", "invalidation")
STATS_TTL_SECONDS = 7 * 24 * 3600
# Lost version keys restart from the clock, so a reset never reuses an old version.
_VERSION_TTL_FACTOR = 4


def _redis() -> Any:
    return get_redis_connection("default")


def version_key(namespace: str) -> str:
    return f"{PREFIX}:ver:{namespace}"


def family(namespace: str) -> str:
    """The stats bucket of a namespace: ``product.42`` counts as ``product``."""
    return namespace.split(".", 1)[0]


def stats_key(namespace: str) -> str:
    return f"{PREFIX}:stats:{family(namespace)}"


def digest(parts: Any) -> str:
    """A short stable digest of a query's parameters."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def _ttl() -> int:
    return settings.CACHE_TTL_SECONDS


def _current_versions(connection: Any, namespaces: Sequence[str]) -> list[str]:
    keys = [version_key(namespace) for namespace in namespaces]
    values = connection.mget(keys)
    missing = [key for key, value in zip(keys, values, strict=True) if value is None]
    if missing:
        seed = str(time.time_ns())
        pipe = connection.pipeline()
        for key in missing:
            pipe.set(key, seed, nx=True, ex=_ttl() * _VERSION_TTL_FACTOR)
        pipe.execute()
        values = connection.mget(keys)
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


# One round trip for a hit: read the versions, build the value key, count the lookup and
# read the value, all inside Redis. A miss is counted in the same trip, which also tries to
# take the rebuild lock, so the request that rebuilds needs only one more trip to store the
# answer, count the rebuild and release the lock. (Computed keys make this single-node only,
# as is the rest of the project: a Redis Cluster would need hash tags.)
_LOOKUP_SCRIPT = """
local n = #KEYS - 1
local versions = redis.call('MGET', unpack(KEYS, 1, n))
for i = 1, n do
  if not versions[i] then return {0} end
end
local stats = KEYS[n + 1]
redis.call('HINCRBY', stats, 'lookup', 1)
local value_key = ARGV[1] .. table.concat(versions, '.') .. ':' .. ARGV[2]
local value = redis.call('GET', value_key)
local locked = 0
if not value then
  redis.call('HINCRBY', stats, 'miss', 1)
  if redis.call('SET', ARGV[4] .. value_key, '1', 'NX', 'PX', ARGV[5]) then locked = 1 end
end
redis.call('EXPIRE', stats, ARGV[3])
return {1, value_key, value or false, locked}
"""
_lookup_script: Any = None


def _lookup_call(connection: Any, namespaces: Sequence[str], key_digest: str) -> ScriptCall:
    global _lookup_script
    if _lookup_script is None:
        _lookup_script = connection.register_script(_LOOKUP_SCRIPT)
    keys = [*(version_key(namespace) for namespace in namespaces), stats_key(namespaces[0])]
    args = [f"{PREFIX}:val:{namespaces[0]}:", key_digest, STATS_TTL_SECONDS, LOCK_PREFIX, LOCK_TTL_MS]
    return ScriptCall(connection, _lookup_script, keys, args)


class _Found(NamedTuple):
    value_key: str
    raw: bytes | None  # the cached answer, None on a miss
    locked: bool  # on a miss: whether this request took the rebuild lock


def _lookup_answer(found: list[Any]) -> _Found | None:
    """What the lookup script found; None when a version key is missing (first use, or evicted)."""
    if found[0] != 1:
        return None
    value_key = found[1].decode() if isinstance(found[1], bytes) else found[1]
    return _Found(value_key, found[2], found[3] == 1)


def _lookup(connection: Any, namespaces: Sequence[str], call: ScriptCall, found: list[Any]) -> _Found:
    """What the lookup found for the namespaces' current versions, from ``found`` (the answer of ``call``,
    the lookup script)."""
    answer = _lookup_answer(found)
    if answer is None:  # a version key is missing: create it, then look again
        _current_versions(connection, namespaces)
        answer = _lookup_answer(call.run_alone())
    if answer is None:  # gone again at once (Redis evicting under memory pressure): served uncached
        raise RedisError(f"the version keys of {', '.join(namespaces)} could not be kept")
    return answer


def cached[T](namespace: str, *, depends_on: Sequence[str] = (), key: Any, build: Callable[[], T]) -> T:
    """Return the cached answer for ``key`` in ``namespace``, building it once on a miss.

    ``depends_on`` lists other namespaces whose invalidation must also invalidate
    this answer (a product page shows its category's name, for instance). Values
    must be JSON-serialisable; they come back as JSON types. ``None`` is not cached.
    """

    def build_encoded() -> bytes | None:
        value = build()
        # Encoded once: stored as is, and decoded back so a miss answers the same JSON types as a hit.
        return None if value is None else json.dumps(value, cls=DjangoJSONEncoder).encode()

    raw = cached_bytes(namespace, depends_on=depends_on, key=key, build=build_encoded)
    return None if raw is None else json.loads(raw)  # type: ignore[return-value]


def cached_bytes(
    namespace: str,
    *,
    depends_on: Sequence[str] = (),
    key: Any,
    build: Callable[[], bytes | None],
    alongside: Sequence[tuple[ScriptCall, Callable[[Any], None]]] = (),
) -> bytes | None:
    """``cached`` for answers that are already bytes (a rendered page): stored and returned as is.

    ``build`` returns None for an answer that must not be cached; that None is returned.
    ``alongside``: other modules' script calls to send in the lookup's round trip
    (common/redis_together.py), each with what takes its answer, called before anything is built;
    when Redis cannot be reached it is not called, and its owner reads on its own.
    """
    try:
        connection = _redis()
        if _unbumped:  # Redis is back after an outage: first the invalidations it missed
            invalidate()
        names = [namespace, *depends_on]
        lookup = _lookup_call(connection, names, digest(key))
        found, *answers = call_together([lookup, *(call for call, _ in alongside)])
        for (_, take), answer in zip(alongside, answers, strict=True):
            take(answer)
        answer = _lookup(connection, names, lookup, found)
        if answer.raw is not None:
            return answer.raw
        if answer.locked:
            return _rebuild(connection, namespace, answer.value_key, build)
        return _wait_for_rebuild(connection, answer.value_key, build)
    except RedisError as error:
        logger.warning("cache unavailable, serving %s from the database: %s", namespace, error)
        return build()


def _rebuild(connection: Any, namespace: str, value_key: str, build: Callable[[], bytes | None]) -> bytes | None:
    """Build the answer under the lock the lookup took; store it, count it and release the lock in one trip."""
    try:
        raw = build()
    except BaseException:
        connection.delete(LOCK_PREFIX + value_key)
        raise
    pipe = connection.pipeline(transaction=False)
    # "Not found" is not cached: junk ids and slugs must not fill Redis.
    if raw is not None:
        pipe.set(value_key, raw, ex=_ttl())
    pipe.hincrby(stats_key(namespace), "rebuild", 1)
    pipe.expire(stats_key(namespace), STATS_TTL_SECONDS)
    pipe.delete(LOCK_PREFIX + value_key)
    pipe.execute()
    return raw


def _wait_for_rebuild(connection: Any, value_key: str, build: Callable[[], bytes | None]) -> bytes | None:
    """Someone else is rebuilding: wait for their answer rather than hitting the database too."""
    lock_key = LOCK_PREFIX + value_key
    deadline = time.monotonic() + WAIT_FOR_REBUILD_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        raw = connection.get(value_key)
        if raw is not None:
            return raw
        if not connection.exists(lock_key):
            # The builder may have stored the value and released the lock between our two reads.
            raw = connection.get(value_key)
            if raw is not None:
                return raw
            break
    return build()


# Namespaces whose bump failed while Redis was down. An append-only Redis comes back with the
# answers cached before the outage; bumping these at the next successful contact keeps them
# from being served after it. Per process: the process that made the write remembers it.
_unbumped: set[str] = set()
_unbumped_lock = threading.Lock()


def _bump(connection: Any, namespaces: Iterable[str]) -> None:
    pipe = connection.pipeline()
    for namespace in namespaces:
        pipe.incr(version_key(namespace))
        pipe.expire(version_key(namespace), _ttl() * _VERSION_TTL_FACTOR)
        pipe.hincrby(stats_key(namespace), "invalidation", 1)
    pipe.execute()


def invalidate(*namespaces: str) -> None:
    """Make every answer cached in ``namespaces`` unreachable (O(1) per namespace)."""
    with _unbumped_lock:
        wanted = {*namespaces, *_unbumped}
    try:
        _bump(_redis(), sorted(wanted))
    except RedisError as error:
        with _unbumped_lock:
            _unbumped.update(namespaces)
        if namespaces:
            redis_debt_owed("cache namespaces to bump", _bump_missed)
        if not namespaces:  # a retry from cached(): Redis is still down, and that is logged there
            return
        # The write is already in MongoDB; the bump is retried at the next successful contact.
        logger.error("cache invalidation of %s failed (retried when Redis answers): %s", ", ".join(namespaces), error)
        return
    with _unbumped_lock:
        _unbumped.difference_update(wanted)


def _bump_missed() -> None:
    """Bump the namespaces whose bump failed; raises RedisError while Redis is still unreachable."""
    with _unbumped_lock:
        wanted = set(_unbumped)
    if wanted:
        _bump(_redis(), sorted(wanted))
        with _unbumped_lock:
            _unbumped.difference_update(wanted)


def unbumped() -> frozenset[str]:
    """Namespaces this process still has to invalidate (Redis was down when it tried)."""
    with _unbumped_lock:
        return frozenset(_unbumped)


def stats(namespaces: Sequence[str]) -> dict[str, dict[str, int | float]]:
    """Counters per namespace family, for the staff page and the benchmark."""
    try:
        connection = _redis()
        pipe = connection.pipeline(transaction=False)
        for namespace in namespaces:
            pipe.hgetall(stats_key(namespace))
        rows = pipe.execute()
    except RedisError:
        return {}
    result: dict[str, dict[str, int | float]] = {}
    for namespace, row in zip(namespaces, rows, strict=True):
        counts: dict[str, int | float] = {field: int(row.get(field.encode(), 0)) for field in STAT_FIELDS}
        counts["hit"] = max(0, counts["lookup"] - counts["miss"])
        counts["hit_ratio_percent"] = round(100 * counts["hit"] / counts["lookup"], 1) if counts["lookup"] else 0.0
        result[namespace] = counts
    return result


def reset_stats(namespaces: Sequence[str]) -> None:
    """Zero the counters (the benchmark does this before each phase)."""
    try:
        _redis().delete(*[stats_key(namespace) for namespace in namespaces])
    except RedisError as error:
        logger.warning("could not reset cache stats: %s", error)
