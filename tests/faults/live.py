"""A live order page as static/js/live.js drives it, in a thread: connect with the session
cookie, resync from the last seq seen, apply pushes, and on any close reconnect with backoff.

It records what a browser would show ("live" or "reconnecting") and every close it saw, so a
test can check that the page noticed the outage, kept trying and caught up afterwards.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from devstack.testing import BackgroundLoop

STOP_CODES = (4401, 4403, 4404)  # as live.js: these end the page's reconnecting
MIN_DELAY, MAX_DELAY = 0.25, 1.0  # live.js uses 0.5 s .. 10 s; shorter keeps the tests short


@dataclass
class LivePage(BackgroundLoop):
    ws_url: str
    path: str
    cookie: str
    origin: str
    last_seq: int = 0
    state: str = "connecting"  # "live" once the server answered a resync, "reconnecting" after a close
    status: str = ""
    timeline: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # list pages: order id -> latest
    closes: list[int | None] = field(default_factory=list)  # close codes seen (None: refused or dropped)
    attempts: int = 0
    pushes: int = 0
    _answered: bool = False

    def wait_for(self, condition: Callable[[LivePage], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s ({self.describe()})")
            time.sleep(0.05)

    def describe(self) -> str:
        return (
            f"state={self.state} status={self.status} last_seq={self.last_seq} seqs={sorted(self.timeline)} "
            f"attempts={self.attempts} closes={self.closes[-5:]} pushes={self.pushes}"
        )

    @property
    def is_order_page(self) -> bool:
        return re.fullmatch(r"/ws/orders/[0-9a-f]{24}/", self.path) is not None

    async def _run(self) -> None:
        delay = MIN_DELAY
        while not self._stop.is_set():
            self.attempts += 1
            self._answered = False
            code = await self._session()
            if self._stop.is_set():
                return
            self.closes.append(code)
            if code in STOP_CODES:
                self.state = "off"
                return
            self.state = "reconnecting"
            if self._answered:  # as live.js: the backoff restarts once a connection really worked
                delay = MIN_DELAY
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _session(self) -> int | None:
        """One connection, until it closes; its close code (None when refused or dropped)."""
        try:
            async with connect(
                self.ws_url + self.path,
                additional_headers={"Cookie": self.cookie},
                origin=Origin(self.origin),
                open_timeout=5,
                close_timeout=1,
            ) as socket:
                await socket.send(json.dumps({"type": "resync", "since": self.last_seq}))
                while not self._stop.is_set():
                    try:
                        raw = await asyncio.wait_for(socket.recv(), 0.2)
                    except TimeoutError:
                        continue
                    await self._handle(socket, json.loads(raw))
                return None
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except (InvalidHandshake, OSError, TimeoutError):
            return None

    async def _handle(self, socket: Any, message: dict[str, Any]) -> None:
        self.state = "live"  # the server answers: the connection is really up
        self._answered = True
        if message["type"] == "order.resync" and message.get("order"):
            for event in message["events"]:
                self.timeline[event["seq"]] = event
            self.status = message["order"]["status"]
            self.last_seq = max(self.last_seq, message["order"]["seq"])
        elif message["type"] == "orders.resync":
            self.orders.update({order["order_id"]: order for order in message["orders"]})
        elif message["type"] == "order.changed":
            self.pushes += 1
            order = message["order"]
            self.orders[order["order_id"]] = order
            if not self.is_order_page:
                return
            if order["seq"] > self.last_seq + 1:  # a push was lost: ask for what was missed
                await socket.send(json.dumps({"type": "resync", "since": self.last_seq}))
            elif order["seq"] == self.last_seq + 1:
                self.timeline[order["seq"]] = order["event"]
                self.status = order["status"]
                self.last_seq = order["seq"]
