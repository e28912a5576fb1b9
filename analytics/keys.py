"""The Redis keys of the analytics app, all under ``an:``, each with its time to live (README, "Redis key schema").

Days are the shop's local days (``SHOP_TIME_ZONE``), named ``YYYY-MM-DD``; minute and hour buckets
are numbered from the Unix epoch (UTC), so a daylight-saving change neither merges nor skips one.
"""

from __future__ import annotations

from datetime import date

HISTORY_DAYS = 7
DAY_TTL_SECONDS = (HISTORY_DAYS + 1) * 24 * 3600  # a day's figures, its hours and its event markers
MINUTE_HISTORY = 120  # minutes shown: the last 2 hours
MINUTE_TTL_SECONDS = (MINUTE_HISTORY + 10) * 60
HOUR_HISTORY = HISTORY_DAYS * 24
VISITOR_WINDOW_SECONDS = 5 * 60  # "visitors right now"
CART_WINDOW_SECONDS = 10 * 60  # "carts active"
LIVE_TTL_SECONDS = CART_WINDOW_SECONDS
PUSH_LOCK = "an:push-lock"  # one snapshot per interval for the whole deployment (analytics/push.py)


def day_name(day: date) -> str:
    """``2026-12-06``: how keys and the API name a local day."""
    return day.isoformat()


def event_marker(order_id: object, seq: int) -> str:
    """Set the first time an order event is counted: a second delivery finds it and counts nothing."""
    return f"an:event:{order_id}:{seq}"


def day_figures(day: date) -> str:
    """Hash of the day's order figures: orders, units, paid, cancelled, expired, ``rev:<CUR>``, ``paidrev:<CUR>``."""
    return f"an:day:{day_name(day)}"


def day_traffic(day: date) -> str:
    """Hash of the day's traffic: ``views`` (page views), ``checkouts`` (checkouts started). Not rebuilt."""
    return f"an:traffic:{day_name(day)}"


def day_visitors(day: date) -> str:
    """HyperLogLog of the day's visitors."""
    return f"an:visitors:{day_name(day)}"


def day_built(day: date) -> str:
    """Present while Redis holds the day's order figures (set by the rebuild, checked by its schedule)."""
    return f"an:built:{day_name(day)}"


def minute_bucket(minute: int) -> str:
    """Hash of one minute's orders, paid and ``rev:<CUR>``; ``minute`` counts from the epoch."""
    return f"an:minute:{minute}"


def hour_bucket(hour: int) -> str:
    """Hash of one hour's orders, paid and ``rev:<CUR>``; ``hour`` counts from the epoch."""
    return f"an:hour:{hour}"


def top_units(day: date) -> str:
    """Sorted set: product id → units ordered that day."""
    return f"an:top-units:{day_name(day)}"


def top_revenue(day: date, currency: str) -> str:
    """Sorted set: product id → revenue in minor units of ``currency`` that day."""
    return f"an:top-revenue:{day_name(day)}:{currency}"


def product_names(day: date) -> str:
    """Hash: product id → its name as ordered, for the top lists."""
    return f"an:names:{day_name(day)}"


LIVE_VISITORS = "an:live:visitors"  # sorted set: visitor → last seen (ms)
LIVE_CARTS = "an:live:carts"  # sorted set: session → last seen with a non-empty cart (ms)
