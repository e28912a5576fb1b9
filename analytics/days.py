"""Local days in the shop's time zone (``SHOP_TIME_ZONE``), computed in Python, never by the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.SHOP_TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The shop's calendar day ``moment`` (aware) falls on."""
    return moment.astimezone(shop_zone()).date()


def today() -> date:
    return local_day(datetime.now(UTC))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local day, in UTC: local midnight to the next (23 or 25 hours on DST days)."""
    zone = shop_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def epoch_hour(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600
