"""The ASGI lifespan: warming the first pages' data before the process serves (shop/warmup.py),
periodic upkeep that runs inside each app process while it serves, and leaving the staff
broadcast group when the process stops (common/fanout.py).

Two jobs: orders.stock.stock_settle, which puts back stock that a MongoDB failure left taken by
an order that was never stored, and orders.services.orders_expire_overdue, which cancels pending
orders not paid in time so their units go back on sale. Several processes may run them at once:
every step is a conditional update, so each leftover is settled, and each order cancelled, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from common.fanout import fanouts_leave
from orders.services import orders_expire_overdue
from orders.stock import DATABASE_ERRORS, stock_settle
from shop.warmup import catalog_warm_up

logger = logging.getLogger(__name__)


async def _every(interval: float, job: Callable[[], object], what: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await sync_to_async(job, thread_sensitive=False)()
        except DATABASE_ERRORS as error:  # MongoDB is down: the next round tries again
            logger.warning("%s skipped, MongoDB unavailable: %r", what, error)
        except Exception:  # a bug must not stop the loop, nor go unseen
            logger.exception("%s failed", what)


def upkeep_jobs() -> list[tuple[float, Callable[[], object], str]]:
    """The periodic jobs this process runs, with their intervals (an interval of 0 turns one off)."""
    jobs = [
        (settings.STOCK_SETTLE_INTERVAL_SECONDS, stock_settle, "stock settling"),
        (settings.ORDER_EXPIRY_INTERVAL_SECONDS, orders_expire_overdue, "expiring unpaid orders"),
    ]
    return [(interval, job, what) for interval, job, what in jobs if interval > 0]


async def warm_up() -> None:
    """Load what the first pages need before the server accepts requests; a failure only costs speed."""
    if not settings.WARM_UP_AT_START:
        return
    try:
        timings = await sync_to_async(catalog_warm_up, thread_sensitive=False)()
    except Exception:  # MongoDB or Redis down at start: the first visitors will load it instead
        logger.warning("warming the catalog failed; the first pages will load it", exc_info=True)
        return
    logger.info("warmed the catalog in %.2f s (%s)", sum(timings.values()),
                ", ".join(f"{part} {seconds:.2f} s" for part, seconds in timings.items()))  # fmt: skip


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Warm up and start the upkeep jobs at start-up; cancel them at shutdown."""
    jobs: list[asyncio.Task[None]] = []
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await warm_up()
            jobs.extend(asyncio.create_task(_every(interval, job, what)) for interval, job, what in upkeep_jobs())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for job in jobs:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
            await fanouts_leave()  # else pushes keep coming to this process's queue for a day
            await send({"type": "lifespan.shutdown.complete"})
            return
