"""``manage.py analytics_rebuild [--day YYYY-MM-DD]``: recompute a day's order figures from MongoDB."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.days import today
from analytics.services import analytics_day_rebuild


class Command(BaseCommand):
    help = "Recompute a day's order figures (local days, SHOP_TIME_ZONE) from MongoDB into Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="the local day as YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options.get("day")
        try:
            day = date.fromisoformat(raw) if raw else today()
        except ValueError:
            raise CommandError(f"--day must be a date as YYYY-MM-DD, like {today().isoformat()}; got {raw!r}") from None
        self.stdout.write(str(analytics_day_rebuild(day=day)))
