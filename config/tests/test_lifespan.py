"""The ASGI lifespan: what an app process leaves behind when it stops (it runs no upkeep: config/upkeep.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer

from common.fanout import group_fanout
from config.asgi import application
from orders.events import STAFF_GROUP


class IdlePage:
    async def dispatch(self, message: dict[str, Any]) -> None:
        """A staff page that ignores what it is sent."""


@pytest.mark.asyncio
async def test_a_stopping_server_process_leaves_the_staff_group() -> None:
    layer = get_channel_layer()
    staff_members = layer.connection(layer.consistent_hash(STAFF_GROUP))
    await group_fanout(STAFF_GROUP).subscribe(IdlePage())
    assert len(await staff_members.zrange(layer._group_key(STAFF_GROUP), 0, -1)) == 1
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for message in ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}):
        inbox.put_nowait(message)
    sent = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await asyncio.wait_for(application({"type": "lifespan"}, inbox.get, send), 5)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert await staff_members.zrange(layer._group_key(STAFF_GROUP), 0, -1) == []
