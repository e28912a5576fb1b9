"""Analytics work on the job queue's scheduler (config/upkeep.py)."""

from __future__ import annotations

from analytics.days import today
from analytics.services import analytics_rebuild_if_lost


def analytics_rebuild_when_lost() -> str:
    """Rebuild today's order figures from MongoDB if Redis lost them (a flush, a restart without its file)."""
    report = analytics_rebuild_if_lost(day=today())
    return "figures present" if report is None else f"rebuilt {report}"
