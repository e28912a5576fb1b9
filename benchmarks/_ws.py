"""Many WebSocket clients in one asyncio process, for benchmarks against a loopback server.

Each client opens ``/ws/staff/orders/`` with its own single-use ticket, resyncs, then records
the arrival time of every ``order.changed`` push by ``(order_id, seq)`` (``time.perf_counter()``
when its bytes reached this process, see ``StampedListener``), how long this process took to
get to it, and, once per push, the stored event's timestamp it carries.

The clients are picows listeners: its frame parser is compiled and calls back once per frame,
with no task to wake per message. One process plays every browser on the 2 cores the server
uses too, so what it spends reading 1,000 copies of a push is taken from the server it measures
(about 80 µs a copy with the websockets library's asyncio client, 80 ms of CPU per push at
N = 1,000).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

MAX_MESSAGES_BEFORE_RESYNC = 100


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (as benchmarks/_http.py); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass
class Tally:
    """Counts first receipts of tracked pushes; ``done`` is set once ``expected`` arrived."""

    tracked: dict[str, int] = field(default_factory=dict)  # order id -> the last seq not to count
    expected: int = 0
    count: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # (order_id, seq) -> the pushed event's "at": when the server stored the change (its clock).
    stored_at: dict[tuple[str, int], str] = field(default_factory=dict)

    def reset(self, *, tracked: dict[str, int], expected: int) -> None:
        self.tracked = dict(tracked)
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.expected and self.count >= self.expected:
            self.done.set()


class _Backlog:
    """Messages stamped on arrival, handled a few at a time between the event loop's polls for more.

    Handling a push (JSON, the bookkeeping) costs this process about 17 µs (a 414-byte push); at
    N = 1,000 the later sockets' bytes would wait that long times the copies before them to be
    stamped. Each loop iteration handles at most ``BATCH`` messages and then polls the sockets
    again, so bytes that arrived meanwhile are stamped within about a batch's work.
    """

    BATCH = 8

    def __init__(self) -> None:
        self.ready: deque[tuple[StampedListener, float, bytes]] = deque()
        self.scheduled = False

    def add(self, listener: StampedListener, arrived: float, payload: bytes) -> None:
        self.ready.append((listener, arrived, payload))
        self._schedule()

    def drain(self) -> None:
        self.scheduled = False
        for _ in range(min(self.BATCH, len(self.ready))):
            self._handle_oldest()
        if self.ready:
            self._schedule()

    def flush(self) -> None:
        """Handle every message still waiting (the connections are closed: results are read next)."""
        while self.ready:
            self._handle_oldest()

    def _handle_oldest(self) -> None:
        listener, arrived, payload = self.ready.popleft()
        listener.on_message(arrived, payload)

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.drain)


_backlog = _Backlog()


class StampedListener(WSListener):
    """Stamps each text message with the time its last frame reached this process; handles it later.

    One process plays up to 1,000 browsers: when a push reaches all of them at once, it is still
    handling the first sockets' copies while the last ones' wait. A browser has no such queue, so
    receipt is when the bytes arrive, and the handling (``on_message``) waits its turn in
    ``_Backlog``. ``close_code`` is the code of the peer's close frame, 1006 when the connection
    ended without one.
    """

    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        self._fragments: list[bytes] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or (kind is WSMsgType.CONTINUATION and self._fragments):
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                payload = self._fragments[0] if len(self._fragments) == 1 else b"".join(self._fragments)
                self._fragments = []
                _backlog.add(self, time.perf_counter(), payload)
        elif kind is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.close_code is None:
            self.close_code = WSCloseCode.ABNORMAL_CLOSURE.value

    def on_message(self, arrived: float, payload: bytes) -> None:
        raise NotImplementedError

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def close(self, timeout: float) -> None:
        """Send a close frame, wait for the server's (``timeout`` s at most), then end the connection."""
        if self.transport is None:
            return
        self.transport.send_close(WSCloseCode.OK)
        try:
            await asyncio.wait_for(asyncio.shield(self.transport.wait_disconnected()), timeout)
        except TimeoutError:
            self.transport.disconnect()
            await self.transport.wait_disconnected()


async def stamped_connect(factory: Callable[[], StampedListener], url: str, **options: Any) -> StampedListener:
    """Open a connection to ``url`` handled by ``factory()``'s listener (options as picows' ``ws_connect``)."""
    _transport, listener = await ws_connect(factory, url, enable_auto_pong=True, **options)
    assert isinstance(listener, StampedListener)
    return listener


class PushClient(StampedListener):
    """One staff page: waits for its ``orders.resync``, then counts every ``order.changed`` push once."""

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        self.connect_ms = 0.0
        self.received: dict[tuple[str, int], float] = {}
        self.queued_ms: list[float] = []  # bytes arrived -> handled by this process
        self.other_messages = 0
        self.duplicates = 0  # the same (order_id, seq) pushed again: a push must arrive once
        self.closing = False  # set when we close; a close before that came from the server
        self.server_close_code: int | None = None
        self.resynced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._before_resync = 0

    def on_message(self, arrived: float, payload: bytes) -> None:
        read_at = time.perf_counter()
        message = json.loads(payload)
        kind = message.get("type") if isinstance(message, dict) else None
        if not self.resynced.done():
            self._before_resync += 1
            if kind == "orders.resync":
                self.resynced.set_result(None)
            elif self._before_resync >= MAX_MESSAGES_BEFORE_RESYNC:
                self.resynced.set_exception(
                    RuntimeError(f"no orders.resync within {MAX_MESSAGES_BEFORE_RESYNC} messages")
                )
            return
        if kind != "order.changed":
            self.other_messages += 1
            return
        order = message["order"]
        key = (str(order["order_id"]), int(order["seq"]))
        if key in self.received:
            self.duplicates += 1
            return
        self.received[key] = arrived
        self.queued_ms.append((read_at - arrived) * 1000)
        tally = self.tally
        if key not in tally.stored_at and isinstance(order.get("event"), dict):
            tally.stored_at[key] = order["event"].get("at", "")
        if key[1] > tally.tracked.get(key[0], key[1]):
            tally.add()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        super().on_ws_disconnected(transport)
        if not self.closing:
            self.server_close_code = self.close_code
        if not self.resynced.done():
            self.resynced.set_exception(ConnectionError(f"closed before orders.resync (code {self.close_code})"))


async def open_client(url: str, *, origin: str, timeout: float, tally: Tally) -> PushClient:
    """Connect, send ``resync`` and wait for ``orders.resync``; pushes are counted from then on."""
    started = time.perf_counter()
    client = await stamped_connect(
        lambda: PushClient(tally), url, extra_headers={"Origin": origin}, websocket_handshake_timeout=timeout
    )
    assert isinstance(client, PushClient)
    try:
        client.send_text(json.dumps({"type": "resync", "since": 0}))
        await asyncio.wait_for(asyncio.shield(client.resynced), timeout)
    except BaseException:
        client.closing = True
        client.resynced.cancel()  # no one waits for it any more
        await client.close(timeout)
        raise
    client.connect_ms = (time.perf_counter() - started) * 1000
    return client


async def close_clients(clients: list[PushClient], *, batch: int = 200, timeout: float = 5.0) -> None:
    """Close every socket (in batches), then handle every message that arrived before the close."""
    for start in range(0, len(clients), batch):
        chunk = clients[start : start + batch]
        for client in chunk:
            client.closing = True
        await asyncio.gather(*(client.close(timeout) for client in chunk), return_exceptions=True)
    _backlog.flush()
