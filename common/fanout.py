"""Process-local fan-out for broadcast groups: one channel-layer member per server process.

Channels gives every socket a channel of its own, so a push to a group of 1,000 sockets is
received 1,000 times by channels-redis's per-channel machinery (a lock, two tasks and a queue
per socket per message): half the server's CPU in the N = 1,000 push benchmark
(docs/benchmarks/push.md). Here a server process joins such a group once, with one channel of
its own, receives each message once and hands it to its local subscribers' ``dispatch``, as
Channels would. With several server processes each one gets one copy for its own sockets, so
every socket still gets every message once.

For a few long-lived groups shared by many sockets (the staff dashboard's): a process stays a
member while it runs (re-joined well before channels-redis's group expiry), so per-user or
per-order groups keep Channels' ordinary per-socket membership.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

from common.loop_local import LoopLocal

logger = logging.getLogger(__name__)

REJOIN_EVERY_S = 3600.0  # channels-redis forgets group members after group_expiry (1 day)
RETRY_AFTER_S = 1.0


class Subscriber(Protocol):
    async def dispatch(self, message: dict[str, Any]) -> None: ...


class GroupFanout:
    """This event loop's single member of one group, relaying each message to local subscribers."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.layer = get_channel_layer()
        self.channel = ""
        self.subscribers: weakref.WeakSet[Subscriber] = weakref.WeakSet()
        self._joined: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def subscribe(self, subscriber: Subscriber) -> None:
        """Relay the group's messages to ``subscriber``: every one sent after this returns."""
        if not self.channel:
            # An ordinary process-local channel: channels-redis lets one receiver at a time read
            # this process's Redis key and routes to the others, so a channel on a key of its
            # own would hold that turn and starve every socket's channel (or be starved).
            channel = await self.layer.new_channel()
            self.channel = self.channel or channel
        if self._joined is None:
            self._joined = asyncio.ensure_future(self._join())
        elif self._joined.done() and not self._joined.exception():
            # Renew the membership on every new subscriber too (one idempotent group_add): if
            # Redis lost the group without a failed read here (FLUSHDB, a failover to an empty
            # replica), the next page that opens restores it instead of the hourly renewal.
            await self._rejoin()
        joined = self._joined
        try:
            await asyncio.shield(joined)
        except Exception:
            if self._joined is joined:
                self._joined = None  # let the next subscriber try again
            raise
        self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop relaying to ``subscriber`` (the process stays a member of the group)."""
        self.subscribers.discard(subscriber)

    async def leave(self) -> None:
        """Leave the group and stop relaying (the server is shutting down)."""
        for task in list(self._tasks):
            task.cancel()
        if self._joined is not None and self._joined.done() and not self._joined.exception():
            await self.layer.group_discard(self.group, self.channel)
        self._joined = None

    async def _join(self) -> None:
        await self.layer.group_add(self.group, self.channel)
        self._spawn(self._read())
        self._spawn(self._keep_joined())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep_joined(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_EVERY_S)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception:
                logger.exception("could not renew this process's membership of %s", self.group)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:
                logger.exception("fan-out of %s: receive failed; retrying in %g s", self.group, RETRY_AFTER_S)
                await asyncio.sleep(RETRY_AFTER_S)
                await self._rejoin()  # Redis may have lost the group (restart without data)
                continue
            for subscriber in list(self.subscribers):
                # Eager: a socket's send runs to completion here unless its client stopped
                # reading (flow control); only then does it become a task of its own, so one
                # slow client cannot hold up the rest.
                task = asyncio.eager_task_factory(loop, self._deliver(subscriber, message))
                if not task.done():
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _rejoin(self) -> None:
        try:
            await self.layer.group_add(self.group, self.channel)
        except Exception as error:  # noqa: BLE001 - _read retries, and rejoins, after the next failure
            logger.warning("fan-out of %s: could not rejoin: %s", self.group, error)

    async def _deliver(self, subscriber: Subscriber, message: dict[str, Any]) -> None:
        try:
            await subscriber.dispatch(message)
        except Exception as error:  # noqa: BLE001 - e.g. the socket closed meanwhile; the rest go on
            logger.info("fan-out of %s: a subscriber failed: %r", self.group, error)


_fanouts: LoopLocal[dict[str, GroupFanout]] = LoopLocal(dict)


async def fanouts_leave() -> None:
    """At shutdown (config/lifespan.py): leave the groups, or pushes keep coming here for a day."""
    for fanout in list(_fanouts.get().values()):
        try:
            await fanout.leave()
        except Exception:
            logger.exception("fan-out of %s: could not leave the group", fanout.group)


def group_fanout(group: str) -> GroupFanout:
    """The running event loop's fan-out of ``group`` (a server process has one loop)."""
    per_loop = _fanouts.get()
    if group not in per_loop:
        per_loop[group] = GroupFanout(group)
    return per_loop[group]
