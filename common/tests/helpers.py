"""Helpers for tests of every package: Redis made unreachable for the code under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devstack.processes import free_port


def unreachable_redis_url() -> str:
    """A Redis URL on a loopback port nothing listens on: every command fails as with Redis down."""
    return f"redis://127.0.0.1:{free_port()}/0"


def caches_at(url: str, caches: dict[str, Any]) -> dict[str, Any]:
    """``CACHES`` with every alias (the catalog cache, the sessions' copies) pointed at ``url``."""
    return {alias: {**config, "LOCATION": url} for alias, config in caches.items()}


def redis_down_caches(caches: dict[str, Any]) -> dict[str, Any]:
    """``CACHES`` as the app sees them while Redis is down: ``override_settings(CACHES=...)``."""
    return caches_at(unreachable_redis_url(), caches)


@contextmanager
def redis_round_trips() -> Iterator[list[int]]:
    """Count what this process sends Redis inside the block: one per command, pipeline or script call.

    ``len()`` of the yielded list is the count so far (redis-py sends each round trip's commands with
    one ``send_packed_command``).
    """
    from redis.connection import AbstractConnection

    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(1)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
