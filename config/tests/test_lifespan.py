"""The ASGI lifespan: the warm-up before a process serves, and what it leaves behind when it stops
(it runs no upkeep: config/upkeep.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer
from pymongo.errors import ServerSelectionTimeoutError

from common.fanout import group_fanout
from common.mongo_commands import mongo_commands
from config import lifespan
from config.asgi import application
from orders.events import STAFF_GROUP
from shop import selectors


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


def run_lifespan() -> list[str]:
    """Start and stop the ASGI lifespan as a server does; the messages it sent back."""

    async def cycle() -> list[str]:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        for message in ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}):
            inbox.put_nowait(message)
        sent: list[str] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        await asyncio.wait_for(application({"type": "lifespan"}, inbox.get, send), 30)
        return sent

    return asyncio.run(cycle())


@pytest.mark.django_db(transaction=True)
def test_start_up_warms_the_catalog_before_the_server_takes_requests(catalog, settings, caplog) -> None:
    settings.WARM_UP_AT_START = True
    settings.ORDER_EXPIRY_INTERVAL_SECONDS = settings.STOCK_SETTLE_INTERVAL_SECONDS = 0
    with caplog.at_level("INFO", logger="config.lifespan"):
        assert run_lifespan() == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "warmed the catalog in" in caplog.text
    with mongo_commands() as sent:
        assert selectors.new_arrivals()
        assert selectors.category_tree()
    assert sent == []


def test_a_failed_warm_up_only_costs_speed(settings, caplog, monkeypatch) -> None:
    def database_down() -> dict[str, float]:
        raise ServerSelectionTimeoutError("127.0.0.1:27018: [Errno 111] Connection refused")

    monkeypatch.setattr(lifespan, "catalog_warm_up", database_down)
    settings.WARM_UP_AT_START = True
    settings.ORDER_EXPIRY_INTERVAL_SECONDS = settings.STOCK_SETTLE_INTERVAL_SECONDS = 0
    assert run_lifespan() == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "warming the catalog failed" in caplog.text
