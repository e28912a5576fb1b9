"""Put back stock a failure left taken, and finish interrupted restocks (orders/stock.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orders.stock import stock_settle


class Command(BaseCommand):
    help = (
        "Settle stock movements a MongoDB failure left half done: undo takes of orders that were never "
        "stored, finish returns of cancelled orders. The job queue's scheduler also does this periodically."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="only movements older than this many seconds (default: STOCK_HOLD_TIMEOUT_SECONDS)",
        )

    def handle(self, *args: Any, older_than: float | None = None, **options: Any) -> None:
        age = None if older_than is None else timedelta(seconds=older_than)
        report = stock_settle(older_than=age)
        self.stdout.write(
            f"takes undone: {report.takes_undone}, takes confirmed: {report.takes_confirmed}, "
            f"restocks finished: {report.restocks_finished}, returns confirmed: {report.returns_confirmed}"
        )
