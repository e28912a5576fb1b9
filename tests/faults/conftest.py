"""One application whose MongoDB and Redis the fault tests stop and start again.

The app is the real one (uvicorn, DEBUG off) with its own redis-server (append-only, so a
restart keeps what it had, as in production) and mongoeco on the SQLite engine (a killed
server keeps its data), each on a fixed free port so it comes back at the same address.
The tests talk to it only over HTTP and WebSockets; they read MongoDB directly only to check
the stock invariants.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.testing import SplitStack, split_stack, status_of
from tests.faults.helpers import HOLD_TIMEOUT_SECONDS, PASSWORD, wait_until


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitStack]:
    root: Path = tmp_path_factory.mktemp("faults")
    with split_stack(
        root / "var",
        DEMO_CATALOG_SIZE="30",
        DEMO_PASSWORD=PASSWORD,
        API_TOKEN_RATE="1000/minute",
        STOCK_HOLD_TIMEOUT_SECONDS=str(HOLD_TIMEOUT_SECONDS),
        STOCK_SETTLE_INTERVAL_SECONDS="1",
        ORDER_EMAIL_RECONCILE_INTERVAL_SECONDS="2",  # an order e-mail never queued (Redis down) goes out soon after
        MAX_PENDING_ORDERS_PER_USER="1000",  # the MongoDB outage test checks out dozens of times as one shopper
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _dependencies_back_up(stack: SplitStack) -> Iterator[None]:
    """Whatever a test did, the next one starts with MongoDB and Redis running."""
    yield
    if stack.redis is None or not stack.redis.alive():
        stack.start_redis()
    if stack.mongo is None or not stack.mongo.alive():
        stack.start_mongo()
    wait_until(lambda: status_of(f"{stack.base_url}/healthz") == 200, 30, "the app is healthy again")
