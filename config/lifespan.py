"""The ASGI lifespan: leaving the staff broadcast group when the process stops (common/fanout.py).

App processes run no periodic work: payment expiry, stock settling and the order e-mails'
reconciliation run on the job queue's scheduler, once per interval for the whole deployment
(config/upkeep.py).
"""

from __future__ import annotations

from typing import Any

from common.fanout import fanouts_leave


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer start-up; at shutdown, leave the staff fan-out group."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await fanouts_leave()  # else pushes keep coming to this process's queue for a day
            await send({"type": "lifespan.shutdown.complete"})
            return
