"""Suite-wide fixtures. `make test` starts real Redis and MongoDB and exports their URLs."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_redis() -> None:
    """Each test starts with an empty Redis database (cache, blocklist, channel layer)."""
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    """Each test gets a channel layer of its own.

    A server process has one event loop; the tests get a new loop each. channels-redis keeps
    per-loop receive state (a lock, a count) on the layer, so a receive that an earlier test's
    loop left behind (a staff fan-out still waiting when its loop closed, common/fanout.py) made
    the next loop's receive fail: "Lock ... is bound to a different event loop".
    """
    from channels.layers import channel_layers

    channel_layers.backends.clear()
