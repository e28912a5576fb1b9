"""Dependency checks shared by /healthz and the start-up check."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django_redis import get_redis_connection

from config.redis_settings import redact_url, sentinels_answering


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    address: str
    ok: bool
    latency_ms: float | None
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"status": "ok" if self.ok else "down", "address": self.address}
        if self.ok:
            data["latency_ms"] = self.latency_ms
        else:
            data["error"] = self.error
        return data


def _timed(name: str, address: str, probe) -> DependencyStatus:
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - any failure means "down", reported with its reason
        cause = error.__cause__ or error
        return DependencyStatus(name, address, ok=False, latency_ms=None, error=_describe(cause))
    return DependencyStatus(name, address, ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _describe(error: BaseException) -> str:
    text = str(error).split(", Timeout:")[0]  # pymongo appends its topology dump
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def mongodb_status() -> DependencyStatus:
    """Ping MongoDB through Django's connection."""

    def probe() -> None:
        connection = connections["default"]
        connection.ensure_connection()
        connection.connection.admin.command("ping")

    return _timed("mongodb", redact_url(settings.MONGODB_URI), probe)


def redis_status() -> DependencyStatus:
    """Ping Redis through the cache's connection pool (bypassing IGNORE_EXCEPTIONS); with sentinels,
    ask them for the primary first, so a failure names every sentinel tried."""
    target = settings.REDIS_TARGET

    def probe() -> None:
        if target.uses_sentinels:
            sentinels_answering(target)
        get_redis_connection("default").ping()

    return _timed("redis", target.describe(), probe)


def dependency_statuses() -> list[DependencyStatus]:
    """Every dependency the app needs to serve requests."""
    return [mongodb_status(), redis_status()]
