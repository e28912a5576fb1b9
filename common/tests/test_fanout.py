"""common/fanout.py over the real Redis channel layer: one member per process, each message
relayed once to every local subscriber, whatever one subscriber does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer

from common.fanout import GroupFanout, fanouts_leave, group_fanout

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("empty_redis")]
GROUP = "test.broadcast"


class Page:
    """A subscriber that records what it is given (what a consumer's dispatch would handle)."""

    def __init__(self, *, stuck: asyncio.Event | None = None, broken: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.stuck, self.broken = stuck, broken

    async def dispatch(self, message: dict[str, Any]) -> None:
        if self.broken:
            raise ConnectionError("socket gone")
        if self.stuck is not None:
            await self.stuck.wait()  # a client that stopped reading: its send waits
        self.received.append(message)
        self.arrived.set()


async def members() -> list[bytes]:
    layer = get_channel_layer()
    connection = layer.connection(layer.consistent_hash(GROUP))
    return await connection.zrange(layer._group_key(GROUP), 0, -1)


async def send(text: str) -> None:
    await get_channel_layer().group_send(GROUP, {"type": "test.message", "text": text})


async def settle(*pages: Page, count: int) -> None:
    async def until_done(page: Page) -> None:
        while len(page.received) < count:
            page.arrived.clear()
            await page.arrived.wait()

    await asyncio.wait_for(asyncio.gather(*(until_done(page) for page in pages)), 5)


async def test_one_membership_per_process_and_every_page_gets_each_message_once() -> None:
    pages = [Page() for _ in range(3)]
    for page in pages:
        await group_fanout(GROUP).subscribe(page)
    assert len(await members()) == 1, "the process joined once, not once per page"
    await send("one")
    await send("two")
    await settle(*pages, count=2)
    await asyncio.sleep(0.2)  # room for a duplicate to show up
    for page in pages:
        assert [message["text"] for message in page.received] == ["one", "two"]


async def test_a_new_page_restores_a_membership_redis_lost() -> None:
    first = Page()
    await group_fanout(GROUP).subscribe(first)
    layer = get_channel_layer()
    await layer.connection(layer.consistent_hash(GROUP)).flushdb()  # Redis lost its data, no error seen here
    assert await members() == []
    second = Page()
    await group_fanout(GROUP).subscribe(second)
    assert len(await members()) == 1
    await send("after the loss")
    await settle(first, second, count=1)


async def test_a_page_that_left_gets_nothing_more() -> None:
    staying, leaving = Page(), Page()
    fanout = group_fanout(GROUP)
    await fanout.subscribe(staying)
    await fanout.subscribe(leaving)
    fanout.unsubscribe(leaving)
    await send("after")
    await settle(staying, count=1)
    await asyncio.sleep(0.2)
    assert leaving.received == []


async def test_a_broken_or_stuck_page_does_not_hold_up_the_others() -> None:
    stuck = asyncio.Event()
    blocked, broken, healthy = Page(stuck=stuck), Page(broken=True), Page()
    for page in (blocked, broken, healthy):
        await group_fanout(GROUP).subscribe(page)
    await send("one")
    await send("two")
    await settle(healthy, count=2)
    assert blocked.received == []
    stuck.set()  # the slow client catches up, in order
    await settle(blocked, count=2)
    assert [message["text"] for message in blocked.received] == ["one", "two"]


async def test_two_processes_each_relay_one_copy_to_their_own_pages() -> None:
    # Two server processes are two fan-outs with channels of their own (here on one loop).
    first, second = GroupFanout(GROUP), GroupFanout(GROUP)
    here, there = Page(), Page()
    await first.subscribe(here)
    await second.subscribe(there)
    assert len(await members()) == 2
    await send("both")
    await settle(here, there, count=1)
    await asyncio.sleep(0.2)
    assert [len(here.received), len(there.received)] == [1, 1]


async def test_concurrent_first_subscribers_share_one_join() -> None:
    fanout = GroupFanout(GROUP)
    pages = [Page() for _ in range(20)]
    await asyncio.gather(*(fanout.subscribe(page) for page in pages))
    assert len(await members()) == 1
    await send("hello")
    await settle(*pages, count=1)


async def test_leaving_takes_this_process_out_of_its_groups() -> None:
    page = Page()
    await group_fanout(GROUP).subscribe(page)
    assert len(await members()) == 1
    await fanouts_leave()
    assert await members() == []
    await send("after")
    await asyncio.sleep(0.2)
    assert page.received == []
