"""One application whose MongoDB and Redis the fault tests stop and start again.

The app is the real one (uvicorn, DEBUG off) with its own redis-server (append-only, so a
restart keeps what it had, as in production) and mongoeco on the SQLite engine (a killed
server keeps its data), each on a fixed free port so it comes back at the same address.
The tests talk to it only over HTTP and WebSockets; they read MongoDB directly only to check
the stock invariants.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from devstack.testing import SplitStack, split_stack, status_of

PASSWORD = "faults-demo-password-1"
SHOPPER = "shopper@example.com"
ADMIN = "admin@example.com"
ADDRESS = {
    "full_name": "Ana García",
    "line1": "Calle Mayor 1",
    "city": "Madrid",
    "postal_code": "28013",
    "country": "ES",
}
HOLD_TIMEOUT_SECONDS = 8  # stock taken for an order never stored goes back after this


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


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


@dataclass
class Visitor:
    """A browser (session cookie, CSRF) and an API client (JWT) for one account."""

    stack: SplitStack
    email: str
    http: httpx.Client
    access: str = ""

    @classmethod
    def logged_in(cls, stack: SplitStack, email: str) -> Visitor:
        visitor = cls(stack, email, httpx.Client(base_url=stack.base_url, timeout=30))
        response = visitor.post_form("/account/login/", {"username": email, "password": PASSWORD})
        assert response.status_code == 302, response.text[:300]
        tokens = visitor.http.post("/api/auth/token/", json={"email": email, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        visitor.access = tokens.json()["access"]
        return visitor

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def post_form(self, path: str, data: dict[str, str], *, page: str | None = None) -> httpx.Response:
        """POST a form as the browser would, with the CSRF token of the page showing it (default: ``path``)."""
        html = self.http.get(page or path).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, f"no CSRF token on {path}"
        headers = {"Referer": f"{self.stack.base_url}{page or path}"}
        return self.http.post(path, data={"csrfmiddlewaretoken": token.group(1), **data}, headers=headers)

    def place(self, *lines: tuple[str, int]) -> httpx.Response:
        body = {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines], "address": ADDRESS}
        return self.http.post("/api/orders/", json=body, headers=self.bearer)

    def order(self, *lines: tuple[str, int]) -> dict:
        """Place an order that must succeed; its JSON."""
        response = self.place(*lines)
        assert response.status_code == 201, response.text
        return response.json()


def mongo(stack: SplitStack) -> Any:
    """The app's database, read directly (only to check invariants)."""
    return MongoClient(stack.env["MONGODB_URI"], serverSelectionTimeoutMS=10_000)["tienda"]
