"""The push benchmark's WebSocket client (benchmarks/_ws.py) against a real WebSocket server on loopback.

Its connections stamp bytes when they arrive and parse them later, a few chunks per event-loop turn:
every message must still be read once, in order, with an arrival stamp no later than its read, up to
and including the server's close, also when the connection ends before its bytes were parsed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosedError

from devstack.testing import ROOT

MESSAGES = 60
CLIENTS = 40


@pytest.fixture
def ws_helpers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _ws

    return _ws


@pytest.mark.asyncio
@pytest.mark.parametrize(("abrupt", "close_code"), [(False, 1000), (True, 1006)])
async def test_every_message_is_read_once_in_order_after_it_was_stamped(
    ws_helpers: Any, abrupt: bool, close_code: int
) -> None:
    async def burst(ws: Any) -> None:
        await ws.recv()  # every client connected: the bursts below overlap, as a push's copies do
        for number in range(MESSAGES):
            await ws.send(json.dumps({"n": number, "pad": "x" * (number * 50)}))  # some span several reads
        if abrupt:  # the TCP connection ends right behind the data, without a closing handshake
            ws.transport.close()
            await ws.wait_closed()
        else:
            await ws.close()

    async with serve(burst, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        clients = [
            await connect(f"ws://127.0.0.1:{port}", create_connection=ws_helpers.StampedConnection)
            for _ in range(CLIENTS)
        ]
        await asyncio.gather(*(client.send("ready") for client in clients))

        async def read_all(client: Any) -> list[int]:
            numbers = []
            try:
                async for raw in client:
                    read_at = time.perf_counter()
                    assert client.arrival() <= read_at
                    numbers.append(json.loads(raw)["n"])
            except ConnectionClosedError:  # the abrupt end: what came before it must all have been read
                pass
            return numbers

        received = await asyncio.wait_for(asyncio.gather(*(read_all(client) for client in clients)), 30)

    assert received == [list(range(MESSAGES))] * CLIENTS
    assert all(client.close_code == close_code for client in clients)
    assert not any(client.chunks for client in clients)
