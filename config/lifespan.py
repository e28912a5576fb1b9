"""The ASGI lifespan: warming the first pages' data before the process serves (shop/warmup.py), and
leaving the staff broadcast group when the process stops (common/fanout.py).

App processes run no periodic work: payment expiry, stock settling and the order e-mails'
reconciliation run on the job queue's scheduler, once per interval for the whole deployment
(config/upkeep.py).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from common.fanout import fanouts_leave
from shop.warmup import catalog_warm_up

logger = logging.getLogger(__name__)


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
    """Warm up at start-up; at shutdown, leave the staff fan-out group."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await warm_up()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await fanouts_leave()  # else pushes keep coming to this process's queue for a day
            await send({"type": "lifespan.shutdown.complete"})
            return
