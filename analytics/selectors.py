"""Reading the figures: one snapshot of a day (and of the last 2 hours and 7 days) from Redis."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from analytics import keys
from analytics.days import epoch_hour, epoch_minute, today
from analytics.money import from_minor
from shop.models import Product
from shop.selectors import cache_stats

TOP = 10
LOW_STOCK_CACHE_KEY = "analytics:low-stock"


def _ints(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {name.decode(): int(value) for name, value in raw.items()}


def _money(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): value for name, value in counts.items() if name.startswith(prefix)}


def low_stock_products() -> list[dict[str, Any]]:
    """Products on sale with ``ANALYTICS_LOW_STOCK`` units or fewer, fewest first; from MongoDB at most
    once per ``ANALYTICS_LOW_STOCK_CACHE_SECONDS`` (the cache), not once per snapshot."""
    found = cache.get(LOW_STOCK_CACHE_KEY)
    if found is None:
        rows = (
            Product.objects.filter(is_active=True, stock__lte=settings.ANALYTICS_LOW_STOCK)
            .order_by("stock", "name")
            .values("pk", "name", "slug", "stock")[:TOP]
        )
        found = [
            {"id": str(row["pk"]), "name": row["name"], "slug": row["slug"], "stock": row["stock"]} for row in rows
        ]
        cache.set(LOW_STOCK_CACHE_KEY, found, settings.ANALYTICS_LOW_STOCK_CACHE_SECONDS)
    return found


def _cache_hit_ratio() -> float | None:
    stats = cache_stats()
    lookups = sum(int(family["lookup"]) for family in stats.values())
    hits = sum(int(family["hit"]) for family in stats.values())
    return round(100 * hits / lookups, 1) if lookups else None


def _rounded_quotient(total: int, count: int) -> int:
    """``total / count`` rounded half up, in integers (an average in minor units)."""
    return (2 * total + count) // (2 * count)


def _bucket(at: datetime, raw: dict[bytes, bytes]) -> dict[str, Any]:
    counts = _ints(raw)
    revenue = _money(counts, "rev:")
    return {
        "at": at.isoformat(),
        "orders": counts.get("orders", 0),
        "paid": counts.get("paid", 0),
        "revenue": {currency: from_minor(minor, currency) for currency, minor in revenue.items()},
    }


def analytics_snapshot(*, day: date | None = None) -> dict[str, Any]:
    """Every figure of the dashboard and the API for ``day`` (default: today, local), plus live and history."""
    day = day or today()
    now = datetime.now(UTC)
    now_ms = int(time.time() * 1000)
    this_minute, this_hour = epoch_minute(now), epoch_hour(now)
    minutes = range(this_minute - keys.MINUTE_HISTORY + 1, this_minute + 1)
    hours = range(this_hour - keys.HOUR_HISTORY + 1, this_hour + 1)
    redis = get_redis_connection("default")
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.hgetall(keys.day_figures(day))
        pipe.hgetall(keys.day_traffic(day))
        pipe.pfcount(keys.day_visitors(day))
        pipe.zcount(keys.LIVE_VISITORS, now_ms - keys.VISITOR_WINDOW_SECONDS * 1000, "+inf")
        pipe.zcount(keys.LIVE_CARTS, now_ms - keys.CART_WINDOW_SECONDS * 1000, "+inf")
        pipe.zrevrange(keys.top_units(day), 0, TOP - 1, withscores=True)
        pipe.hgetall(keys.product_names(day))
        for minute in minutes:
            pipe.hgetall(keys.minute_bucket(minute))
        for hour in hours:
            pipe.hgetall(keys.hour_bucket(hour))
        results = pipe.execute()
        figures, traffic_raw, visitors_today, visitors_now, carts, top_units, names_raw = results[:7]
        figures = _ints(figures)
        revenue = _money(figures, "rev:")
        pipe = redis.pipeline(transaction=False)
        for currency in sorted(revenue):
            pipe.zrevrange(keys.top_revenue(day, currency), 0, TOP - 1, withscores=True)
        top_revenue = dict(zip(sorted(revenue), pipe.execute(), strict=True))
        available = True
    except RedisError:
        results, figures, traffic_raw, revenue, top_revenue = [None] * (7 + len(minutes) + len(hours)), {}, {}, {}, {}
        visitors_today = visitors_now = carts = 0
        top_units, names_raw, available = [], {}, False
    traffic = _ints(traffic_raw or {})
    names = {key.decode(): value.decode() for key, value in (names_raw or {}).items()}
    orders_by_currency = _money(figures, "orders:")
    paid_revenue = _money(figures, "paidrev:")
    minute_rows = results[7 : 7 + len(minutes)]
    hour_rows = results[7 + len(minutes) :]
    chart_currency = max(revenue, key=revenue.get) if revenue else settings.ANALYTICS_CHART_CURRENCY
    return {
        "day": keys.day_name(day),
        "time_zone": settings.SHOP_TIME_ZONE,
        "generated_at": now.isoformat(),
        "redis_available": available,
        "orders": figures.get("orders", 0),
        "units_sold": figures.get("units", 0),
        "paid": figures.get("paid", 0),
        "cancelled": figures.get("cancelled", 0),
        "expired": figures.get("expired", 0),
        "revenue": {currency: from_minor(minor, currency) for currency, minor in sorted(revenue.items())},
        "revenue_minor": dict(sorted(revenue.items())),
        "paid_revenue": {currency: from_minor(minor, currency) for currency, minor in sorted(paid_revenue.items())},
        "average_order_value": {
            currency: from_minor(
                (2 * minor + orders_by_currency[currency]) // (2 * orders_by_currency[currency]), currency
            )
            for currency, minor in sorted(revenue.items())
            if orders_by_currency.get(currency)
        },
        "top_by_units": [
            {"product_id": member.decode(), "name": names.get(member.decode(), ""), "units": int(score)}
            for member, score in top_units
        ],
        "top_by_revenue": [
            {
                "product_id": member.decode(),
                "name": names.get(member.decode(), ""),
                "currency": currency,
                "revenue": from_minor(int(score), currency),
            }
            for currency, rows in top_revenue.items()
            for member, score in rows
        ][:TOP],
        "visitors_now": int(visitors_now or 0),
        "visitors_today": int(visitors_today or 0),
        "page_views": traffic.get("views", 0),
        "funnel": {
            "carts_active": int(carts or 0),
            "checkouts_started": traffic.get("checkouts", 0),
            "orders_placed": figures.get("orders", 0),
            "orders_paid": figures.get("paid", 0),
        },
        "low_stock": low_stock_products(),
        "cache_hit_ratio_percent": _cache_hit_ratio(),
        "chart_currency": chart_currency,
        "per_minute": [
            _bucket(datetime.fromtimestamp(minute * 60, UTC), row or {})
            for minute, row in zip(minutes, minute_rows, strict=True)
        ],
        "per_hour": [
            _bucket(datetime.fromtimestamp(hour * 3600, UTC), row or {})
            for hour, row in zip(hours, hour_rows, strict=True)
        ],
    }
