"""Page views, visitors, active carts and checkouts started, counted in memory and flushed to Redis
from a background thread every ``ANALYTICS_TRAFFIC_FLUSH_MS``: a page view (a cached one too) adds no
Redis round trip to its request. A process that dies loses at most one interval of counts.

One flush is one pipelined round trip: ``HINCRBY`` of the day's views and checkouts, ``PFADD`` of its
visitors (HyperLogLog), ``ZADD`` of the live visitors and carts with their last-seen time and
``ZREMRANGEBYSCORE`` of those gone quiet.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from analytics import keys
from analytics.days import local_day

logger = logging.getLogger(__name__)


@dataclass
class _Buffer:
    views: Counter[date] = field(default_factory=Counter)
    checkouts: Counter[date] = field(default_factory=Counter)
    visitors: dict[date, set[str]] = field(default_factory=dict)
    live_visitors: dict[str, int] = field(default_factory=dict)  # visitor → last seen (ms)
    live_carts: dict[str, int] = field(default_factory=dict)  # session → last seen (ms)

    def __bool__(self) -> bool:
        return bool(self.views or self.checkouts or self.live_carts)


class TrafficCounter:
    """The process's buffer and its flusher thread (started with the first count)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = _Buffer()
        self._thread: threading.Thread | None = None

    def visitor_id(self, ip: str, user_agent: str) -> str:
        """A visitor: a digest of address and browser (no cookie, so cached pages count too)."""
        return hashlib.blake2b(f"{ip}|{user_agent}".encode(), digest_size=8).hexdigest()

    def record(self, *, visitor: str, view: bool, checkout: bool, cart: str | None) -> None:
        """Count one request in memory."""
        now = datetime.now(UTC)
        day, ms = local_day(now), int(now.timestamp() * 1000)
        with self._lock:
            buffer = self._buffer
            if view:
                buffer.views[day] += 1
                buffer.visitors.setdefault(day, set()).add(visitor)
                buffer.live_visitors[visitor] = ms
            if checkout:
                buffer.checkouts[day] += 1
            if cart:
                buffer.live_carts[cart] = ms
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="analytics-traffic-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(settings.ANALYTICS_TRAFFIC_FLUSH_MS / 1000)
            try:
                self.flush()
            except Exception:
                logger.exception("analytics traffic flush failed")

    def flush(self) -> int:
        """Write the buffered counts to Redis in one round trip; how many page views it wrote."""
        with self._lock:
            buffer, self._buffer = self._buffer, _Buffer()
        if not buffer:
            return 0
        now_ms = int(time.time() * 1000)
        # MULTI/EXEC: still one round trip, and no reader sees a key before its EXPIRE.
        pipe = get_redis_connection("default").pipeline(transaction=True)
        for day in set(buffer.views) | set(buffer.checkouts):
            traffic = keys.day_traffic(day)
            if buffer.views[day]:
                pipe.hincrby(traffic, "views", buffer.views[day])
            if buffer.checkouts[day]:
                pipe.hincrby(traffic, "checkouts", buffer.checkouts[day])
            pipe.expire(traffic, keys.DAY_TTL_SECONDS)
        for day, visitors in buffer.visitors.items():
            pipe.pfadd(keys.day_visitors(day), *visitors)
            pipe.expire(keys.day_visitors(day), keys.DAY_TTL_SECONDS)
        for key, members, window in (
            (keys.LIVE_VISITORS, buffer.live_visitors, keys.VISITOR_WINDOW_SECONDS),
            (keys.LIVE_CARTS, buffer.live_carts, keys.CART_WINDOW_SECONDS),
        ):
            if members:
                pipe.zadd(key, members)
                pipe.zremrangebyscore(key, "-inf", now_ms - window * 1000)
                pipe.expire(key, keys.LIVE_TTL_SECONDS)
        try:
            pipe.execute()
        except RedisError as error:
            logger.warning("analytics could not write %d page views: %r", sum(buffer.views.values()), error)
            return 0
        return sum(buffer.views.values())


traffic = TrafficCounter()
