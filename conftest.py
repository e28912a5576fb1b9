"""Suite-wide fixtures. `make test` starts real Redis and MongoDB and exports their URLs."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_redis() -> None:
    """Each test starts with an empty Redis database (cache, blocklist, channel layer)."""
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()
