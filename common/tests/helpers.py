"""Helpers for tests of every package: Redis made unreachable for the code under test."""

from __future__ import annotations

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
