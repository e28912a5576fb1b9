"""The token blocklist and API-session registry in Redis. This module owns the ``jwt:`` keys.

- ``jwt:revoked:<jti>``         a revoked token; expires when the token would have (EXAT exp)
- ``jwt:family-ended:<fam>``    an ended API session (refresh family): its refresh and access tokens
- ``jwt:cutoff:<user id>``      tokens issued before this time (ms) are void: logout-everywhere,
                                ban, password or permission change
- ``jwt:family:<fam>``          hash: user, user agent, IP, created, last used, current refresh jti
- ``jwt:user-families:<user id>``  set of the user's API session (family) ids

Every key expires with the refresh lifetime or sooner. Unlike the cache, errors here are
never swallowed: a blocklist that fails silently lets revoked tokens through, so callers turn
``BlocklistUnavailable`` into a 503.

A revocation must outlive the Redis primary: replication is asynchronous, and a failover can
lose writes the old primary acknowledged. So with ``REDIS_REVOCATION_REPLICAS`` set (the default
with sentinels), each revocation's writes are followed, in the same round trip, by ``WAIT`` for
that many replicas; fewer within ``REDIS_REVOCATION_WAIT_MS`` raises ``RevocationUnconfirmed``,
a 503 that says the revocation may not hold (config/outages.py), never a success.
https://redis.io/docs/latest/commands/wait/
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

PREFIX = "jwt"


class BlocklistUnavailable(RuntimeError):
    """Redis could not be asked; the token's state is unknown."""


class RevocationUnconfirmed(RuntimeError):
    """The revocation is on the Redis primary, but fewer replicas than required hold it: a failover
    now could undo it, so it is not reported as done."""


def revocation_pipeline(redis: Any) -> Any:
    """A pipeline for a revocation's writes, sent by ``revocation_execute``.

    Not a MULTI/EXEC transaction when it ends with WAIT (WAIT inside a transaction does not wait);
    each write is idempotent, so one cut short is completed by the retry the 503 asks for.
    """
    return redis.pipeline(transaction=not settings.REDIS_REVOCATION_REPLICAS)


def revocation_execute(pipe: Any) -> list[Any]:
    """Send the pipeline's writes and, with replicas required, WAIT for them in the same round trip."""
    replicas = settings.REDIS_REVOCATION_REPLICAS
    if replicas:
        pipe.wait(replicas, settings.REDIS_REVOCATION_WAIT_MS)
    results = pipe.execute()
    if replicas and int(results[-1]) < replicas:
        raise RevocationUnconfirmed(f"{results[-1]} of the {replicas} replica(s) required acknowledged the revocation")
    return results


def _redis() -> Any:
    return get_redis_connection("default")


def revoked_key(jti: str) -> str:
    return f"{PREFIX}:revoked:{jti}"


def family_ended_key(family: str) -> str:
    return f"{PREFIX}:family-ended:{family}"


def cutoff_key(user_id: str) -> str:
    return f"{PREFIX}:cutoff:{user_id}"


def family_key(family: str) -> str:
    return f"{PREFIX}:family:{family}"


def user_families_key(user_id: str) -> str:
    return f"{PREFIX}:user-families:{user_id}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class TokenState:
    revoked: bool
    family_ended: bool
    cutoff_ms: int | None
    also: dict[str, Any] = field(default_factory=dict)  # the values of ``also`` keys, read in the same MGET


def token_state(*, jti: str, family: str | None, user_id: str, also: Sequence[str] = ()) -> TokenState:
    """Everything that can void a token, in one round trip (one MGET), with the values of the ``also``
    keys (the user's card: accounts/tokens.py)."""
    keys = [revoked_key(jti), cutoff_key(user_id)]
    if family:
        keys.append(family_ended_key(family))
    try:
        values = _redis().mget([*keys, *also])
    except RedisError as error:
        raise BlocklistUnavailable(str(error)) from error
    return TokenState(
        revoked=values[0] is not None,
        cutoff_ms=int(values[1]) if values[1] is not None else None,
        family_ended=len(keys) > 2 and values[2] is not None,
        also=dict(zip(also, values[len(keys) :], strict=True)),
    )


def _run(callback: Any) -> Any:
    try:
        return callback(_redis())
    except RedisError as error:
        raise BlocklistUnavailable(str(error)) from error


def revoke_token(*, jti: str, expires_at: int) -> None:
    """Void one token until its own expiry (``exp``, seconds since the epoch)."""
    if expires_at <= time.time():
        return

    def write(redis: Any) -> None:
        pipe = revocation_pipeline(redis)
        pipe.set(revoked_key(jti), "1", exat=int(expires_at))
        revocation_execute(pipe)

    _run(write)


def end_family(*, family: str, user_id: str, ttl_seconds: int) -> None:
    """End one API session: its refresh tokens and the access tokens minted from them."""

    def write(redis: Any) -> None:
        pipe = revocation_pipeline(redis)
        pipe.set(family_ended_key(family), "1", ex=ttl_seconds)
        pipe.delete(family_key(family))
        pipe.srem(user_families_key(user_id), family)
        revocation_execute(pipe)

    _run(write)


def cut_off(*, user_id: str, ttl_seconds: int) -> int:
    """Void every token the user holds now, seen by the server or not; returns the cut-off (ms)."""
    cutoff = now_ms()

    def write(redis: Any) -> None:
        families = [f.decode() for f in redis.smembers(user_families_key(user_id))]
        pipe = revocation_pipeline(redis)
        pipe.set(cutoff_key(user_id), cutoff, ex=ttl_seconds)
        for family in families:
            pipe.set(family_ended_key(family), "1", ex=ttl_seconds)
            pipe.delete(family_key(family))
        pipe.delete(user_families_key(user_id))
        revocation_execute(pipe)

    _run(write)
    return cutoff


def family_register(*, family: str, user_id: str, refresh_jti: str, user_agent: str, ip: str, ttl_seconds: int) -> None:
    """Record a new API session (a login through the token endpoint)."""
    stamp = now_ms()

    def write(redis: Any) -> None:
        pipe = redis.pipeline()
        pipe.hset(
            family_key(family),
            mapping={
                "user_id": user_id, "refresh_jti": refresh_jti, "user_agent": user_agent[:200], "ip": ip,
                "created_ms": stamp, "last_used_ms": stamp,
            },
        )  # fmt: skip
        pipe.expire(family_key(family), ttl_seconds)
        pipe.sadd(user_families_key(user_id), family)
        pipe.expire(user_families_key(user_id), ttl_seconds)
        pipe.execute()

    _run(write)


# Rotation is a compare-and-set: only the holder of the current refresh token may rotate.
_ROTATE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'refresh_jti')
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'refresh_jti', ARGV[2], 'last_used_ms', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
ROTATED, REUSED, UNKNOWN = 1, 0, -1


def family_rotate(*, family: str, user_id: str, old_jti: str, new_jti: str, ttl_seconds: int) -> int:
    """Swap the family's refresh jti: ROTATED, REUSED (old_jti is not current) or UNKNOWN (no such session)."""

    def rotate(redis: Any) -> int:
        script = redis.register_script(_ROTATE_SCRIPT)
        keys = [family_key(family), user_families_key(user_id)]
        return int(script(keys=keys, args=[old_jti, new_jti, now_ms(), ttl_seconds]))

    return _run(rotate)


def families(user_id: str) -> list[dict[str, str]]:
    """The user's live API sessions, newest first."""

    def read(redis: Any) -> list[dict[str, str]]:
        ids = sorted(f.decode() for f in redis.smembers(user_families_key(user_id)))
        pipe = redis.pipeline()
        for family in ids:
            pipe.hgetall(family_key(family))
        rows = []
        for family, raw in zip(ids, pipe.execute(), strict=True):
            if raw:
                row = {key.decode(): value.decode() for key, value in raw.items()}
                rows.append({"family": family, **row})
        return sorted(rows, key=lambda row: int(row.get("created_ms", 0)), reverse=True)

    return _run(read)
