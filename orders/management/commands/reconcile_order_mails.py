"""Queue order e-mails that were never queued, or whose worker died while sending (orders/notifications.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.notifications import order_mails_reconcile


class Command(BaseCommand):
    help = (
        "Queue the e-mail of every recent order event that was neither sent nor given up and whose job is "
        "not queued or running, and push those orders' current state to their open pages again. The job "
        "queue's scheduler also does this every "
        "ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS. Safe to run while workers run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = order_mails_reconcile()
        self.stdout.write(
            f"e-mails queued: {report.queued}, waiting (queued, retrying, sending or failed): {report.waiting}, "
            f"orders done: {report.orders_done}, orders pushed again: {report.pushed_again}"
        )
