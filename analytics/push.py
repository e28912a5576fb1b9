"""One snapshot to the staff analytics group every ``ANALYTICS_PUSH_SECONDS`` while anyone watches.

Each server process with open dashboards runs one loop; at each tick the loops race for a short
Redis lock (``SET NX PX``), and only the winner reads the snapshot and sends it to the group, so
the whole deployment sends one per interval however many processes and dashboards there are. A
snapshot is JSON encoded once; each process relays it to its sockets (common/fanout.py). Order
events push nothing here: a burst of a thousand orders still gives one snapshot per interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from analytics import keys
from analytics.selectors import analytics_snapshot
from common.fanout import group_fanout
from common.loop_local import LoopLocal

logger = logging.getLogger(__name__)

STAFF_GROUP = "analytics.staff"
SNAPSHOT_EVENT = "analytics.snapshot"  # handled by the consumer's analytics_snapshot()
SNAPSHOT_TYPE = "analytics.snapshot"  # the socket message's "type"


def snapshot_text() -> str:
    """Today's snapshot as the socket message, encoded once."""
    return json.dumps({"type": SNAPSHOT_TYPE, "snapshot": analytics_snapshot()}, cls=DjangoJSONEncoder)


def _snapshot_if_turn() -> str | None:
    """The snapshot when this process won this interval's lock; None when another did (or Redis failed)."""
    interval_ms = settings.ANALYTICS_PUSH_SECONDS * 1000
    try:
        won = get_redis_connection("default").set(keys.PUSH_LOCK, 1, nx=True, px=max(100, interval_ms - 200))
    except RedisError as error:
        logger.warning("analytics push skipped: %r", error)
        return None
    return snapshot_text() if won else None


async def _push_loop() -> None:
    fanout = group_fanout(STAFF_GROUP)
    layer = get_channel_layer()
    while fanout.subscribers:
        await asyncio.sleep(settings.ANALYTICS_PUSH_SECONDS)
        try:
            text = await database_sync_to_async(_snapshot_if_turn)()
            if text is not None:
                await layer.group_send(STAFF_GROUP, {"type": SNAPSHOT_EVENT, "text": text})
        except Exception:
            logger.exception("analytics push failed")


_loops: LoopLocal[dict[str, Any]] = LoopLocal(dict)


def push_loop_ensure() -> None:
    """Start this process's push loop unless it runs (it ends by itself when the last dashboard closes)."""
    state = _loops.get()
    task = state.get("task")
    if task is None or task.done():
        state["task"] = asyncio.ensure_future(_push_loop())
