"""Cancel pending orders whose time to pay ran out, putting their units back on sale (orders/services.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.services import orders_expire_overdue


class Command(BaseCommand):
    help = (
        "Cancel pending orders not paid within ORDER_PAYMENT_WINDOW_MINUTES; their units go back on sale. "
        "The job queue's scheduler also does this every ORDER_EXPIRY_INTERVAL_SECONDS (config/upkeep.py). "
        "Safe to run while the app, or another copy of it, runs."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = orders_expire_overdue()
        self.stdout.write(f"orders expired: {report.expired}, already paid or cancelled: {report.already_changed}")
