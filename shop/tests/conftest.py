"""Fixtures only the shop tests use (``catalog`` is in shop/tests/fixtures.py, shared)."""

from __future__ import annotations

import pytest

from shop import cache


@pytest.fixture
def patient_stampede(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiters wait as long as the rebuild takes: on a machine busy enough that one rebuild outlasts
    the 5 s wait, a waiter's own rebuild (the fallback) would be counted as a stampede."""
    monkeypatch.setattr(cache, "WAIT_FOR_REBUILD_SECONDS", 60.0)
    monkeypatch.setattr(cache, "LOCK_TTL_MS", 90_000)
