"""An idle live page must stay connected: channels-redis reads block for up to 5 s, so the
Redis socket timeout must be longer (config/settings/base.py, CHANNEL_LAYERS)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from channels.layers import get_channel_layer

from orders.tests.sockets import connect, resync

pytestmark = pytest.mark.asyncio


async def test_an_idle_socket_survives_the_channel_layers_blocking_read(people: SimpleNamespace, goods) -> None:
    socket = await connect(people.staff, "/ws/staff/orders/")
    await resync(socket)
    await asyncio.sleep(6.5)  # longer than channels-redis's 5 s blocking read
    assert await socket.receive_nothing(timeout=0.2), "the consumer crashed while idle"
    assert (await resync(socket))["type"] == "orders.resync"
    await socket.disconnect()


async def test_the_channel_layer_reads_with_a_timeout_above_its_blocking_read() -> None:
    layer = get_channel_layer()
    host = layer.hosts[0]
    assert host["socket_timeout"] > 5
    assert host["max_connections"] >= 1000
