"""The ASGI lifespan: periodic upkeep that runs inside each app process while it serves, and
leaving the staff broadcast group when the process stops (config/fanout.py).

Today one job: orders.stock.stock_settle, which puts back stock that a MongoDB failure left
taken by an order that was never stored. Several processes may run it at once: every step is
a conditional update, so each leftover is settled exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from config.fanout import fanouts_leave
from orders.stock import DATABASE_ERRORS, stock_settle

logger = logging.getLogger(__name__)


async def _settle_stock_forever(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await sync_to_async(stock_settle, thread_sensitive=False)()
        except DATABASE_ERRORS as error:  # MongoDB is down: the next round tries again
            logger.warning("stock settling skipped, MongoDB unavailable: %r", error)
        except Exception:  # a bug must not stop the loop, nor go unseen
            logger.exception("stock settling failed")


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Start the upkeep jobs at start-up and cancel them at shutdown."""
    jobs: list[asyncio.Task[None]] = []
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.STOCK_SETTLE_INTERVAL_SECONDS > 0:
                jobs.append(asyncio.create_task(_settle_stock_forever(settings.STOCK_SETTLE_INTERVAL_SECONDS)))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for job in jobs:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
            await fanouts_leave()  # else pushes keep coming to this process's queue for a day
            await send({"type": "lifespan.shutdown.complete"})
            return
