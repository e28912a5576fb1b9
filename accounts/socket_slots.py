"""At most ``WS_MAX_SOCKETS_PER_USER`` open WebSockets per user, counted across every server process.

Key (this module is its only writer; README "Redis key schema"):

- ``sock:user:<user id>`` — sorted set of the user's open sockets: member = the socket's channel
  name, score = when its lease ends (milliseconds, Redis's clock, so app servers' clocks never
  matter). TTL: one lease, renewed with every write.

A socket claims a slot when it connects (one Lua script: drop ended leases, refuse if the user
already holds the cap, else add), gives it back when it closes (ZREM), and while it is open its
process renews the leases of all its own sockets in one script call every third of a lease. A
process that dies without closing its sockets (``kill -9``, an OOM kill, a lost machine) stops
renewing, so its sockets stop counting at most one lease later: nobody is locked out for good by
sockets that no longer exist. The slots live in the channel layer's Redis and reuse its per-event
loop connections: a socket cannot work without that Redis anyway, and a Redis error while
claiming closes the socket with 1013 like every other channel-layer failure (accounts/consumers.py).

A socket that closes while its process is renewing may be written back by that renewal and
count for one more lease: the cap errs, briefly, on the strict side.

``WS_MAX_SOCKETS_PER_USER = 0`` turns the cap (and every Redis call here) off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

from common.loop_local import LoopLocal

logger = logging.getLogger(__name__)

KEY_PREFIX = "sock:user"

# KEYS[1] the user's set; ARGV: channel name, cap, lease seconds. 1 = claimed, 0 = refused.
_CLAIM = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]) * 1000, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: one user set per socket; ARGV[1] lease seconds, ARGV[i + 1] the channel name for KEYS[i].
# A plain ZADD, not XX: a socket whose entry was lost (Redis restarted empty) counts again.
_RENEW = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now + lease * 1000, ARGV[i + 1])
    redis.call('EXPIRE', key, lease)
end
return #KEYS
"""


def user_slots_key(user_id: object) -> str:
    """The sorted set of one user's open sockets."""
    return f"{KEY_PREFIX}:{user_id}"


def _connection(layer: Any, key: str) -> Any:
    """The channel layer's Redis connection for ``key``, in the running event loop."""
    return layer.connection(layer.consistent_hash(key))


class _Renewer:
    """Renews the leases of one event loop's (one server process's) open sockets."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[Any, str]] = {}  # channel name -> (its channel layer, user set key)
        self.task: asyncio.Task[None] | None = None

    def hold(self, channel: str, layer: Any, key: str) -> None:
        self.held[channel] = (layer, key)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._renew_forever())

    def forget(self, channel: str) -> None:
        self.held.pop(channel, None)
        if not self.held and self.task is not None:
            self.task.cancel()  # nothing left to renew; the next claim starts a new one
            self.task = None

    async def _renew_forever(self) -> None:
        lease = settings.WS_SOCKET_LEASE_SECONDS
        while True:
            await asyncio.sleep(lease / 3)
            held = dict(self.held)
            try:
                # One call per Redis host (usually one): a script must keep its keys on one server.
                by_host: dict[tuple[int, int], tuple[Any, list[tuple[str, str]]]] = {}
                for channel, (layer, key) in held.items():
                    index = layer.consistent_hash(key)
                    by_host.setdefault((id(layer), index), (_connection(layer, key), []))[1].append((key, channel))
                for redis, pairs in by_host.values():
                    keys, channels = zip(*pairs, strict=True)
                    await redis.eval(_RENEW, len(keys), *keys, lease, *channels)
            except (RedisError, OSError) as error:
                # The next round tries again; meanwhile these sockets' channel layer fails too.
                logger.warning("could not renew %d socket leases: %s", len(held), error)
            except Exception:  # a bug must not stop the renewals (every socket would age out), nor go unseen
                logger.exception("could not renew %d socket leases", len(held))


_renewers: LoopLocal[_Renewer] = LoopLocal(_Renewer)


async def socket_slot_claim(*, layer: Any, user_id: object, channel: str) -> bool:
    """Count this socket (``channel`` on ``layer``) against its user's cap: True if it may stay open,
    False if the user is at the cap.

    Raises ``RedisError`` when Redis cannot answer (the consumer closes with 1013).
    """
    cap = settings.WS_MAX_SOCKETS_PER_USER
    if cap <= 0:
        return True
    key = user_slots_key(user_id)
    claimed = await _connection(layer, key).eval(_CLAIM, 1, key, channel, cap, settings.WS_SOCKET_LEASE_SECONDS)
    if claimed:
        _renewers.get().hold(channel, layer, key)
    return bool(claimed)


def socket_slot_forget(*, channel: str) -> None:
    """Stop renewing this socket's lease (no Redis call: safe in any failure path)."""
    with contextlib.suppress(RuntimeError):  # no running loop: nothing was ever held
        _renewers.get().forget(channel)


async def socket_slot_release(*, layer: Any, user_id: object, channel: str) -> None:
    """Give the slot back when the socket closes; if Redis cannot answer, its lease ends on its own."""
    socket_slot_forget(channel=channel)
    if settings.WS_MAX_SOCKETS_PER_USER <= 0:
        return  # nothing was claimed
    key = user_slots_key(user_id)
    try:
        await _connection(layer, key).zrem(key, channel)
    except (RedisError, OSError) as error:
        logger.warning("could not release a socket slot (its lease will end on its own): %s", error)
