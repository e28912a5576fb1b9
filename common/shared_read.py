"""One read at a time for everyone who asked before it started (a reconnect storm's resyncs).

When a server process loses its Redis or another process dies, hundreds of pages reconnect at
once and each asks for the same snapshot (the staff dashboard's recent orders). Channels runs
their database calls one at a time on one thread, so each waited for every read before its own.

A caller here shares a read that *starts after it asked*, never one already running: a page joins
its push group before it asks, so any write the read might miss was published after the page
joined, and its push reaches the page. While one read runs, everyone who asks meanwhile waits for
the next one, which starts when the running one ends: at most one read runs and one waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class _Flight[T]:
    def __init__(self) -> None:
        self.result: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.begun = False  # once the read has started, nobody else may join this flight


class SharedRead[T]:
    """``await get()``: the result of a call of ``read`` that began after this call did."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._running: _Flight[T] | None = None
        self._next: _Flight[T] | None = None
        self.reads = 0  # how many times ``read`` was called (for tests)

    async def get(self) -> T:
        if self._running is None:
            self._running = flight = self._start(_Flight())
        elif not self._running.begun:
            flight = self._running
        else:
            if self._next is None:
                self._next = _Flight()
            flight = self._next
        # A caller that goes away (its socket closed) must not cancel the others' read.
        return await asyncio.shield(flight.result)

    def _start(self, flight: _Flight[T]) -> _Flight[T]:
        task = asyncio.ensure_future(self._run(flight))
        task.add_done_callback(lambda done: self._finished(flight, done))
        return flight

    async def _run(self, flight: _Flight[T]) -> T:
        flight.begun = True
        self.reads += 1
        return await self._read()

    def _finished(self, flight: _Flight[T], task: asyncio.Future[T]) -> None:
        if task.cancelled():
            flight.result.cancel()
        elif (error := task.exception()) is not None:
            flight.result.set_exception(error)
            flight.result.exception()  # whoever still waits gets it; nobody left waiting is no error
        else:
            flight.result.set_result(task.result())
        waiting, self._next = self._next, None
        self._running = self._start(waiting) if waiting is not None else None
