"""common/shared_read.py: callers share a read that began after they asked, never one already running."""

from __future__ import annotations

import asyncio

import pytest

from common.shared_read import SharedRead

pytestmark = pytest.mark.asyncio


class Store:
    """A value that writes change; each read sees the value as it was when the read began."""

    def __init__(self) -> None:
        self.value = 0
        self.release = asyncio.Event()

    async def read(self) -> int:
        seen = self.value
        await self.release.wait()
        return seen


async def started(shared: SharedRead[int], reads: int) -> None:
    """Until ``reads`` reads have begun."""
    while shared.reads < reads:
        await asyncio.sleep(0)


async def test_callers_who_ask_together_share_one_read() -> None:
    store = Store()
    shared = SharedRead(store.read)
    store.release.set()
    assert await asyncio.gather(*(shared.get() for _ in range(50))) == [0] * 50
    assert shared.reads == 1


async def test_a_caller_never_gets_a_read_that_began_before_it_asked() -> None:
    store = Store()
    shared = SharedRead(store.read)
    first = asyncio.ensure_future(shared.get())
    await started(shared, 1)
    store.value = 1  # written after the first read began, before the next callers ask
    later = [asyncio.ensure_future(shared.get()) for _ in range(20)]
    await asyncio.sleep(0)
    assert shared.reads == 1, "the next read waits for the running one"
    store.release.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [1] * 20
    assert shared.reads == 2


async def test_a_failed_read_fails_its_callers_and_the_next_read_runs_again() -> None:
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database gone")
        return calls

    shared = SharedRead(read)
    results = await asyncio.gather(shared.get(), shared.get(), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    assert await shared.get() == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_others_read() -> None:
    store = Store()
    shared = SharedRead(store.read)
    leaving, staying = asyncio.ensure_future(shared.get()), asyncio.ensure_future(shared.get())
    await started(shared, 1)
    leaving.cancel()
    store.release.set()
    assert await staying == 0
    assert leaving.cancelled()
