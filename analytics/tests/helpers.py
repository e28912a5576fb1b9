"""Helpers for the analytics tests: counting Redis round trips, reading today's figures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import redis.asyncio.connection as async_connection
import redis.connection as sync_connection


@dataclass
class RoundTrips:
    """Writes of a command (or a whole pipeline) to any Redis connection of this process."""

    count: int = 0


@contextlib.contextmanager
def redis_round_trips() -> Iterator[RoundTrips]:
    """Count every request this process sends to Redis, sync (django-redis, RQ) and async (channels-redis).

    redis-py sends a command, or a pipeline's commands together, with one ``send_packed_command``
    and then reads the answers: one call is one round trip.
    """
    trips = RoundTrips()
    sync_send = sync_connection.AbstractConnection.send_packed_command
    async_send = async_connection.AbstractConnection.send_packed_command

    def counting_sync(self, *args, **kwargs):
        trips.count += 1
        return sync_send(self, *args, **kwargs)

    async def counting_async(self, *args, **kwargs):
        trips.count += 1
        return await async_send(self, *args, **kwargs)

    sync_connection.AbstractConnection.send_packed_command = counting_sync
    async_connection.AbstractConnection.send_packed_command = counting_async
    try:
        yield trips
    finally:
        sync_connection.AbstractConnection.send_packed_command = sync_send
        async_connection.AbstractConnection.send_packed_command = async_send
