"""Counting order events into Redis, once each, and rebuilding a day's order figures from MongoDB.

An order event (placing, paying, cancelling) becomes one Lua script run: ``SET NX`` on the event's
marker and, only when the marker is new, the increments of its day, minute and hour buckets and top
lists. One round trip per event, and an event delivered or processed twice counts once.
``analytics_day_rebuild`` recomputes a day from the orders' timelines in MongoDB (the source of
truth) and marks every event it counted, so a late delivery of one of them is not counted again.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from analytics import keys
from analytics.days import day_bounds, epoch_hour, epoch_minute, local_day
from analytics.money import to_minor
from common.redis_debts import redis_debt_owed
from orders.models import EventReason, Order, OrderEvent, OrderStatus

logger = logging.getLogger(__name__)

# KEYS: marker, day figures, minute bucket, hour bucket, top units, top revenue, product names.
# ARGV: marker/day TTL, minute TTL, the increments as JSON (values as strings: exact integers).
_COUNT_EVENT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local inc = cjson.decode(ARGV[3])
for f, n in pairs(inc.day) do redis.call('HINCRBY', KEYS[2], f, n) end
redis.call('EXPIRE', KEYS[2], ARGV[1])
for f, n in pairs(inc.bucket) do
  redis.call('HINCRBY', KEYS[3], f, n)
  redis.call('HINCRBY', KEYS[4], f, n)
end
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[1])
if next(inc.units) then
  for p, n in pairs(inc.units) do redis.call('ZINCRBY', KEYS[5], n, p) end
  for p, n in pairs(inc.revenue) do redis.call('ZINCRBY', KEYS[6], n, p) end
  for p, name in pairs(inc.names) do redis.call('HSET', KEYS[7], p, name) end
  redis.call('EXPIRE', KEYS[5], ARGV[1])
  redis.call('EXPIRE', KEYS[6], ARGV[1])
  redis.call('EXPIRE', KEYS[7], ARGV[1])
end
return 1
"""


@dataclass
class Increments:
    """What one order event adds: to its day, to its minute and hour, to the top lists."""

    day: Counter[str] = field(default_factory=Counter)
    bucket: Counter[str] = field(default_factory=Counter)
    units: Counter[str] = field(default_factory=Counter)
    revenue: Counter[str] = field(default_factory=Counter)
    names: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.day)


def event_increments(order: Order, event: OrderEvent) -> Increments:
    """The figures ``event`` of ``order`` changes; empty for events the figures do not count (shipping)."""
    inc = Increments()
    currency = order.currency
    minor = to_minor(order.total, currency)
    if event.to_status == OrderStatus.PENDING and not event.from_status:
        inc.day.update({"orders": 1, f"orders:{currency}": 1, f"rev:{currency}": minor})
        inc.bucket.update({"orders": 1, f"rev:{currency}": minor})
        for line in order.lines:
            product = str(line.product_id)
            inc.day["units"] += line.quantity
            inc.units[product] += line.quantity
            inc.revenue[product] += to_minor(line.line_total, currency)
            inc.names[product] = line.name
    elif event.to_status == OrderStatus.PAID:
        inc.day.update({"paid": 1, f"paidrev:{currency}": minor})
        inc.bucket.update({"paid": 1})
    elif event.to_status == OrderStatus.CANCELLED:
        inc.day["cancelled"] += 1
        if event.reason == EventReason.PAYMENT_EXPIRED:
            inc.day["expired"] += 1
    return inc


def _texts(counter: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in counter.items()}


def order_event_count(*, order: Order, event: OrderEvent) -> bool:
    """Count ``event`` once (one Redis round trip); False if it was counted before or Redis failed."""
    if not settings.ANALYTICS_ENABLED:
        return False
    inc = event_increments(order, event)
    if not inc:
        return False
    day = local_day(event.at)
    payload = json.dumps({
        "day": _texts(inc.day), "bucket": _texts(inc.bucket), "units": _texts(inc.units),
        "revenue": _texts(inc.revenue), "names": inc.names,
    })  # fmt: skip
    # cjson decodes an empty JSON object as an empty table: ``next`` then finds nothing.
    script_keys = [
        keys.event_marker(order.pk, event.seq), keys.day_figures(day), keys.minute_bucket(epoch_minute(event.at)),
        keys.hour_bucket(epoch_hour(event.at)), keys.top_units(day), keys.top_revenue(day, order.currency),
        keys.product_names(day),
    ]  # fmt: skip
    try:
        redis = get_redis_connection("default")
        # EVAL, not EVALSHA: always one round trip, even after a Redis restart emptied its script cache.
        counted = redis.eval(
            _COUNT_EVENT, len(script_keys), *script_keys, keys.DAY_TTL_SECONDS, keys.MINUTE_TTL_SECONDS, payload
        )
        if _missed_days:
            _rebuild_request(redis)
    except RedisError as error:  # MongoDB holds the event; the rebuild counts it
        logger.warning("analytics could not count %s #%s: %r", order.number, event.seq, error)
        _missed_days.add(day)
        redis_debt_owed("analytics days to rebuild", _rebuild_request_now)
        return False
    return bool(counted)


# Days of events this process could not count (Redis failed). Once Redis answers again (the next
# count, or the retry thread of common/redis_debts.py), their built markers are deleted, so the
# scheduled check (analytics.jobs) rebuilds them from MongoDB: one more round trip, after an outage
# only. A process that dies before then forgets them.
_missed_days: set[date] = set()


def _rebuild_request_now() -> None:
    _rebuild_request(get_redis_connection("default"))


def _rebuild_request(redis: Any) -> None:
    days = list(_missed_days)
    if not days:  # paid already by a count since
        return
    redis.delete(*(keys.day_built(day) for day in days))
    _missed_days.difference_update(days)
    logger.warning("analytics: events of %s were not counted; their figures will be rebuilt", days)


def order_event_stored_receiver(sender: object, *, order: Order, event: OrderEvent, **kwargs: object) -> None:
    """orders.events.order_event_stored → order_event_count."""
    order_event_count(order=order, event=event)


@dataclass
class RebuildReport:
    day: date
    orders: int
    events: int

    def __str__(self) -> str:
        return f"{self.day.isoformat()}: {self.events} events of {self.orders} orders counted"


def analytics_day_rebuild(*, day: date) -> RebuildReport:
    """Recompute ``day``'s order figures, minute and hour buckets and top lists from MongoDB; replace Redis's."""
    start, end = day_bounds(day)
    figures: Counter[str] = Counter()
    minutes: dict[int, Counter[str]] = defaultdict(Counter)
    hours: dict[int, Counter[str]] = defaultdict(Counter)
    units: Counter[str] = Counter()
    revenue: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, str] = {}
    markers: list[str] = []
    orders = 0
    # Every order with an event in the day was created before its end and last changed after its start.
    for order in Order.objects.filter(created_at__lt=end, updated_at__gte=start).iterator():
        touched = False
        for event in order.events:
            if not start <= event.at < end:
                continue
            touched = True
            inc = event_increments(order, event)
            if not inc:
                continue  # as order_event_count: an event that counts nothing is not marked
            markers.append(keys.event_marker(order.pk, event.seq))
            figures.update(inc.day)
            minutes[epoch_minute(event.at)].update(inc.bucket)
            hours[epoch_hour(event.at)].update(inc.bucket)
            units.update(inc.units)
            revenue[order.currency].update(inc.revenue)
            names.update(inc.names)
        orders += touched
    redis = get_redis_connection("default")
    old_revenue = [key.decode() for key in redis.scan_iter(match=keys.top_revenue(day, "*"), count=1000)]
    pipe = redis.pipeline(transaction=True)
    minute_range = range(epoch_minute(start), epoch_minute(end))
    hour_range = range(epoch_hour(start), epoch_hour(end))
    pipe.delete(keys.day_figures(day), keys.top_units(day), keys.product_names(day), *old_revenue)
    pipe.delete(*(keys.minute_bucket(m) for m in minute_range))
    pipe.delete(*(keys.hour_bucket(h) for h in hour_range))
    _write_hash(pipe, keys.day_figures(day), figures, keys.DAY_TTL_SECONDS)
    for minute, counts in minutes.items():
        _write_hash(pipe, keys.minute_bucket(minute), counts, keys.MINUTE_TTL_SECONDS)
    for hour, counts in hours.items():
        _write_hash(pipe, keys.hour_bucket(hour), counts, keys.DAY_TTL_SECONDS)
    _write_zset(pipe, keys.top_units(day), units)
    for currency, per_product in revenue.items():
        _write_zset(pipe, keys.top_revenue(day, currency), per_product)
    if names:
        pipe.hset(keys.product_names(day), mapping=names)
        pipe.expire(keys.product_names(day), keys.DAY_TTL_SECONDS)
    for marker in markers:
        pipe.set(marker, 1, ex=keys.DAY_TTL_SECONDS)
    pipe.set(keys.day_built(day), datetime.now().isoformat(), ex=keys.DAY_TTL_SECONDS)
    pipe.execute()
    return RebuildReport(day=day, orders=orders, events=len(markers))


def _write_hash(pipe: Any, key: str, counts: Counter[str], ttl: int) -> None:
    if counts:
        pipe.hset(key, mapping=dict(counts.items()))
        pipe.expire(key, ttl)


def _write_zset(pipe: Any, key: str, counts: Counter[str]) -> None:
    if counts:
        pipe.zadd(key, dict(counts.items()))
        pipe.expire(key, keys.DAY_TTL_SECONDS)


def analytics_rebuild_if_lost(*, day: date) -> RebuildReport | None:
    """Rebuild ``day`` when Redis no longer holds its figures (its built marker is gone); None when it does."""
    if get_redis_connection("default").exists(keys.day_built(day)):
        return None
    return analytics_day_rebuild(day=day)
