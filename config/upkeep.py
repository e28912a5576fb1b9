"""Periodic upkeep on the job queue's scheduler: once per interval for the whole deployment.

Time is cut into slots of each job's interval. The run of slot ``n`` is one scheduled job with
the id ``upkeep-<name>-<n>``, put in RQ's scheduled registry with ``unique=True``: however many
workers and app processes schedule it, it exists once, and RQ's scheduler (one per queue at a
time, by a Redis lock) moves it to the ``low`` queue once at its time. Each run first schedules
its next slot, so the chain goes on even when the run fails; every worker also schedules the next
slots when it starts and at each maintenance round (config/worker.py), which mends a chain broken
by a lost Redis.

A worker down for an hour: nothing runs meanwhile (the app processes run no upkeep). When one
starts, the one slot already scheduled runs at once, late, and the chain goes on from the present:
missed slots are not replayed one by one, because each run does everything that is due
(every overdue order, every leftover stock movement, every e-mail not sent).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError

from analytics.jobs import analytics_rebuild_when_lost
from common.jobs import QUEUE_LOW
from orders import jobs as order_jobs

logger = logging.getLogger(__name__)

RUN = "config.upkeep.upkeep_run"
RESULT_TTL_SECONDS = 600  # finished runs stay visible in the admin's queue pages this long
FAILURE_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Upkeep:
    name: str
    job: Callable[[], str]
    interval_setting: str

    @property
    def interval(self) -> int:
        return int(getattr(settings, self.interval_setting))


UPKEEP = {
    upkeep.name: upkeep
    for upkeep in (
        Upkeep("expire-orders", order_jobs.orders_expire, "ORDER_EXPIRY_INTERVAL_SECONDS"),
        Upkeep("settle-stock", order_jobs.stock_settle, "STOCK_SETTLE_INTERVAL_SECONDS"),
        Upkeep("reconcile-order-mails", order_jobs.order_mails_reconcile, "ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS"),
        Upkeep("rebuild-analytics", analytics_rebuild_when_lost, "ANALYTICS_REBUILD_CHECK_INTERVAL_SECONDS"),
    )
}


def upkeep_job_id(name: str, slot: int) -> str:
    return f"upkeep-{name}-{slot}"


def upkeep_schedule(*, now: float | None = None) -> int:
    """Schedule the next slot of every upkeep job that is on; how many were new (0 if all were there)."""
    moment = time.time() if now is None else now
    queue = django_rq.get_queue(QUEUE_LOW)
    added = 0
    for upkeep in UPKEEP.values():
        if upkeep.interval <= 0:
            continue
        slot = math.floor(moment / upkeep.interval) + 1
        at = datetime.fromtimestamp(slot * upkeep.interval, tz=UTC)
        try:
            queue.enqueue_at(
                at, RUN, upkeep.name, slot, job_id=upkeep_job_id(upkeep.name, slot), unique=True,
                result_ttl=RESULT_TTL_SECONDS, failure_ttl=FAILURE_TTL_SECONDS,
            )  # fmt: skip
        except DuplicateJobError:
            continue
        except RedisError as error:
            logger.warning("could not schedule %s: %r", upkeep.name, error)
            continue
        added += 1
    return added


def upkeep_run(name: str, slot: int) -> str:
    """One run of the upkeep job ``name`` (the job the scheduler enqueues); schedules the next first."""
    upkeep_schedule()
    report = UPKEEP[name].job()
    logger.info("upkeep %s slot %d: %s", name, slot, report)
    return report
