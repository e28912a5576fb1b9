"""Many WebSocket clients in one asyncio process, for benchmarks against a loopback server.

Each client opens ``/ws/staff/orders/`` with its own single-use ticket, resyncs, then records
the arrival time of every ``order.changed`` push by ``(order_id, seq)`` (``time.perf_counter()``
when its bytes reached this process, see ``StampedConnection``), how long this process took to
get to it, and, once per push, the stored event's timestamp it carries.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.typing import Origin

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
    """Chunks stamped on arrival, parsed a few at a time between the event loop's polls for more.

    Parsing a push (websockets' frame parser, waking the socket's reader, JSON) costs this process
    about 80 µs; at N = 1,000 that is 80 ms in which the later sockets' bytes wait to be stamped,
    so the spread between the first and last receipt measured this process, not the server. With
    the parse deferred, each loop iteration parses at most ``BATCH`` chunks and then polls the
    sockets again, so bytes that arrived meanwhile are stamped within about a batch's parse.
    """

    BATCH = 8

    def __init__(self) -> None:
        self.ready: deque[StampedConnection] = deque()  # one entry per chunk not yet parsed
        self.scheduled = False

    def add(self, connection: StampedConnection) -> None:
        self.ready.append(connection)
        self._schedule(connection.loop)

    def drain(self) -> None:
        self.scheduled = False
        for _ in range(min(self.BATCH, len(self.ready))):
            self.ready.popleft().parse_one()
        if self.ready:
            self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self.drain)


_backlog = _Backlog()


class StampedConnection(ClientConnection):
    """Stamps each text message with the time its bytes reached this process, before parsing.

    One process plays up to 1,000 browsers: when a push reaches all of them at once, it is still
    parsing and handling the first sockets' copies while the last ones' wait (tens of ms at
    N = 1,000, on the one core it is pinned to). A browser has no such queue, so receipt is when
    the bytes arrive, and their parsing waits its turn in ``_Backlog``; ``PushClient.queued_ms``
    keeps how long this process then took to read each.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text_arrivals: deque[float] = deque()
        self.chunks: deque[tuple[float, bytes]] = deque()
        self._chunk_at = 0.0

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.perf_counter(), data))
        _backlog.add(self)

    def parse_one(self) -> None:
        """Parse the oldest chunk not yet parsed (none left: its turn came after a flush)."""
        if self.chunks:
            self._chunk_at, data = self.chunks.popleft()
            super().data_received(data)

    def flush(self) -> None:
        while self.chunks:
            self.parse_one()

    def eof_received(self) -> None:
        self.flush()
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.flush()
        super().connection_lost(exc)

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
            self.text_arrivals.append(self._chunk_at)
        super().process_event(event)

    def arrival(self) -> float:
        """When the oldest text message not yet read arrived (call once per message read)."""
        return self.text_arrivals.popleft() if self.text_arrivals else time.perf_counter()


@dataclass
class PushClient:
    ws: StampedConnection
    connect_ms: float
    received: dict[tuple[str, int], float] = field(default_factory=dict)
    queued_ms: list[float] = field(default_factory=list)  # bytes arrived -> read by this process
    other_messages: int = 0
    duplicates: int = 0  # the same (order_id, seq) pushed again: a push must arrive once
    reader: asyncio.Task[None] | None = None
    closing: bool = False  # set when we close; a close before that came from the server
    server_close_code: int | None = None

    async def read(self, tally: Tally) -> None:
        """Record every push until the socket closes (bounded by the socket's life)."""
        try:
            async for raw in self.ws:
                read_at = time.perf_counter()
                arrived = self.ws.arrival()
                message = json.loads(raw)
                if message.get("type") != "order.changed":
                    self.other_messages += 1
                    continue
                order = message["order"]
                key = (str(order["order_id"]), int(order["seq"]))
                if key in self.received:
                    self.duplicates += 1
                    continue
                self.received[key] = arrived
                self.queued_ms.append((read_at - arrived) * 1000)
                if key not in tally.stored_at and isinstance(order.get("event"), dict):
                    tally.stored_at[key] = order["event"].get("at", "")
                if key[1] > tally.tracked.get(key[0], key[1]):
                    tally.add()
        except ConnectionClosed:
            pass
        if not self.closing:
            self.server_close_code = int(self.ws.close_code) if self.ws.close_code is not None else -1


async def open_client(url: str, *, origin: str, compression: bool, timeout: float, tally: Tally) -> PushClient:
    """Connect, send ``resync`` and wait for ``orders.resync``; then start reading pushes."""
    started = time.perf_counter()
    ws = await connect(
        url, origin=Origin(origin), proxy=None, compression="deflate" if compression else None,
        ping_interval=None, open_timeout=timeout, close_timeout=timeout, max_queue=None,
        create_connection=StampedConnection,
    )  # fmt: skip
    try:
        await ws.send(json.dumps({"type": "resync", "since": 0}))
        for _ in range(MAX_MESSAGES_BEFORE_RESYNC):
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            ws.arrival()
            if message.get("type") == "orders.resync":
                break
        else:
            raise RuntimeError(f"no orders.resync within {MAX_MESSAGES_BEFORE_RESYNC} messages")
    except BaseException:
        await ws.close()
        raise
    client = PushClient(ws=ws, connect_ms=(time.perf_counter() - started) * 1000)
    client.reader = asyncio.create_task(client.read(tally))
    return client


async def close_clients(clients: list[PushClient], *, batch: int = 200) -> None:
    """Close every socket (in batches) and wait for the readers to finish."""
    for start in range(0, len(clients), batch):
        chunk = clients[start : start + batch]
        for client in chunk:
            client.closing = True
        await asyncio.gather(*(client.ws.close() for client in chunk), return_exceptions=True)
    readers = [client.reader for client in clients if client.reader is not None]
    if readers:
        await asyncio.gather(*readers, return_exceptions=True)
