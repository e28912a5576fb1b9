"""What the fault tests do to the application (tests/faults/conftest.py starts it): visit it as
a shopper or an admin, wait for it to recover, read its database to check the invariants."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo import MongoClient

from devstack.testing import ADDRESS, ADMIN, SHOPPER, SplitStack

__all__ = ["ADDRESS", "ADMIN", "SHOPPER"]  # the fault tests import them from here

PASSWORD = "faults-demo-password-1"
HOLD_TIMEOUT_SECONDS = 8  # stock taken for an order never stored goes back after this


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
