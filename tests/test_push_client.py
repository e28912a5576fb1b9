"""The push benchmark's WebSocket client (benchmarks/_ws.py) against a real WebSocket server on loopback.

Its listeners stamp a message when its last frame arrives and handle it later, a few messages per
event-loop turn: every message must still be handled once, in order, after its stamp, fragmented
or not, up to and including the server's close, also when the connection ends without a closing
handshake.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.server import serve

from devstack.testing import ROOT

MESSAGES = 60
CLIENTS = 40
FRAGMENTED_EVERY = 7


@pytest.fixture
def ws_helpers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _ws

    return _ws


def message(number: int) -> str:
    return json.dumps({"n": number, "pad": "x" * (number * 50)})  # some span several reads


@pytest.mark.asyncio
@pytest.mark.parametrize(("abrupt", "close_code"), [(False, 1000), (True, 1006)])
async def test_every_message_is_handled_once_in_order_after_it_was_stamped(
    ws_helpers: Any, abrupt: bool, close_code: int
) -> None:
    class Recorder(ws_helpers.StampedListener):
        def __init__(self) -> None:
            super().__init__()
            self.numbers: list[int] = []
            self.late: list[int] = []

        def on_message(self, arrived: float, payload: bytes) -> None:
            number = json.loads(payload)["n"]
            if arrived > time.perf_counter():
                self.late.append(number)
            self.numbers.append(number)

    async def burst(ws: Any) -> None:
        await ws.recv()  # every client connected: the bursts below overlap, as a push's copies do
        for number in range(MESSAGES):
            text = message(number)
            if number % FRAGMENTED_EVERY == 0:
                await ws.send([text[:5], text[5:10], text[10:]])  # one message in three frames
            else:
                await ws.send(text)
        if abrupt:  # the TCP connection ends right behind the data, without a closing handshake
            ws.transport.close()
            await ws.wait_closed()
        else:
            await ws.close()

    async with serve(burst, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        clients = [await ws_helpers.stamped_connect(Recorder, f"ws://127.0.0.1:{port}") for _ in range(CLIENTS)]
        for client in clients:
            client.send_text("ready")
        await asyncio.wait_for(asyncio.gather(*(client.transport.wait_disconnected() for client in clients)), 30)
        ws_helpers._backlog.flush()

    assert [client.numbers for client in clients] == [list(range(MESSAGES))] * CLIENTS
    assert not any(client.late for client in clients)
    assert [client.close_code for client in clients] == [close_code] * CLIENTS
    assert not ws_helpers._backlog.ready
