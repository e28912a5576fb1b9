"""The ``day`` parameter of the page and the API: a local day within the history Redis keeps."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from analytics.days import today
from analytics.keys import HISTORY_DAYS
from common.api.queries import InvalidQuery

ERROR_DAY = _("Day must be a date as YYYY-MM-DD from %(first)s to %(last)s (the last 7 days and today).")


def parse_day(raw: str | None) -> date:
    """``raw`` as a day of the kept history; today when blank; else InvalidQuery naming ``day``."""
    last = today()
    if raw is None or raw.strip() == "":
        return last
    first = last - timedelta(days=HISTORY_DAYS)
    try:
        day = date.fromisoformat(raw.strip()) if len(raw.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None or not first <= day <= last:
        raise InvalidQuery({"day": str(ERROR_DAY) % {"first": first.isoformat(), "last": last.isoformat()}})
    return day
