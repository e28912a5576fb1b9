"""Periodic upkeep on the queue's scheduler (config/upkeep.py): once per interval for the whole
deployment, with two app processes and two workers running."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from devstack.__main__ import asgi_server_argv
from devstack.processes import free_port
from devstack.testing import status_of
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from tests.jobs.workers import ROOT, Workers, worker_env

RUN = re.compile(r"upkeep (expire-orders|reconcile-order-mails) slot (\d+):")
EVERY_SECOND = {"ORDER_EXPIRY_INTERVAL_SECONDS": "1", "ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS": "1"}


def test_two_apps_and_two_workers_run_expiry_and_reconciliation_once_per_interval(people, goods, workers: Workers):
    apps = []
    for name in ("app-1", "app-2"):
        port = free_port()
        env = worker_env(mail_port=workers.mail_port, **EVERY_SECOND)
        apps.append((workers.group.spawn(name, asgi_server_argv(port=port), env=env, cwd=ROOT,
                                         log_path=workers.log_dir / f"{name}.log"), port))  # fmt: skip
    for _process, port in apps:
        deadline = time.monotonic() + 60
        while status_of(f"http://127.0.0.1:{port}/livez") != 200:
            assert time.monotonic() < deadline, "an app process did not start"
            time.sleep(0.2)
    order = place(people.ana, (goods.mug.pk, 1))
    Order.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    workers.start("worker-1", **EVERY_SECOND)
    workers.start("worker-2", **EVERY_SECOND)
    time.sleep(8)

    runs = Counter(RUN.findall(workers.log("worker-1") + workers.log("worker-2")))
    assert runs, "no upkeep ran"
    assert max(runs.values()) == 1, [run for run, count in runs.items() if count > 1]
    for name in ("expire-orders", "reconcile-order-mails"):
        slots = sorted(int(slot) for job, slot in runs if job == name)
        assert len(slots) >= 5, slots  # about one a second over the 8 s
        assert slots[-1] - slots[0] + 1 - len(slots) <= 1, slots  # at most one slot missed (the first)
    for name in ("app-1", "app-2"):
        assert "upkeep" not in workers.log(name)
    cancelled = Order.objects.get(pk=order.pk)
    assert cancelled.status == OrderStatus.CANCELLED
    assert [e.to_status for e in cancelled.events] == [OrderStatus.PENDING, OrderStatus.CANCELLED]


def test_the_commands_still_run_the_upkeep_on_demand(people, goods) -> None:
    from django.core.management import call_command

    order = place(people.ana, (goods.mug.pk, 1))
    Order.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    call_command("expire_orders")
    call_command("settle_stock")
    call_command("reconcile_order_mails")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_the_scheduled_analytics_check_rebuilds_what_redis_lost(people, goods) -> None:
    from django_redis import get_redis_connection

    from analytics.selectors import analytics_snapshot
    from config.upkeep import UPKEEP, upkeep_run

    place(people.ana, (goods.mug.pk, 2))
    assert UPKEEP["rebuild-analytics"].interval_setting == "ANALYTICS_REBUILD_CHECK_INTERVAL_SECONDS"
    get_redis_connection("default").flushdb()  # Redis restarted without its file
    assert analytics_snapshot()["orders"] == 0
    assert upkeep_run("rebuild-analytics", 1).startswith("rebuilt")
    assert (analytics_snapshot()["orders"], analytics_snapshot()["units_sold"]) == (1, 2)
    assert upkeep_run("rebuild-analytics", 2) == "figures present"
