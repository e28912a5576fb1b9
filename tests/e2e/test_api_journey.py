"""An API client's journey against the running server, over real HTTP (httpx) and a real WebSocket
client (websockets), the way a mobile app or a script would use the shop:

log in, browse the catalog, place and pay an order, watch it on a socket opened with a ticket while
staff ship it through the API, then log out, after which the API and new sockets refuse the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from django.utils import translation
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from accounts.realtime import CLOSE_UNAUTHENTICATED
from accounts.tokens import ERROR_FAMILY_ENDED, ERROR_REVOKED
from tests.e2e.app import App

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

ADDRESS = {"full_name": "Api Client", "line1": "1 Calle Mayor", "city": "Madrid", "postal_code": "28013",
           "country": "es"}  # fmt: skip
PUSH_TIMEOUT_S = 5


class Journey:
    """The client's HTTP session and a stopwatch for each step (printed at the end)."""

    def __init__(self, app: App, http: httpx.AsyncClient) -> None:
        self.app, self.http = app, http
        self.started = self.lap = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps.append((name, (now - self.lap) * 1000))
        self.lap = now

    def report(self) -> str:
        lines = [f"  {name:<58} {ms:8.1f} ms" for name, ms in self.steps]
        return "\n".join(["API client journey:", *lines, f"  {'total':<58} {self.total_s * 1000:8.1f} ms"])

    @property
    def total_s(self) -> float:
        return time.perf_counter() - self.started

    async def login(self, email: str) -> dict[str, str]:
        response = await self.http.post("/api/auth/token/", json={"email": email, "password": self.app.password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access']}", "refresh": response.json()["refresh"]}

    def socket(self, path: str, ticket: str) -> connect:
        return connect(f"{self.app.ws_url}{path}?ticket={ticket}", origin=Origin(self.app.base_url), open_timeout=10)


def english(message: object) -> str:
    """A message as the server sends it to a client that asks for no language."""
    with translation.override("en"):
        return str(message)


def auth(session: dict[str, str]) -> dict[str, str]:
    return {"Authorization": session["Authorization"]}


async def next_message(ws: ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), PUSH_TIMEOUT_S))


async def close_code(journey: Journey, path: str, ticket: str) -> int | None:
    """How the server ends a socket opened with ``ticket`` (None: it stayed open and answered)."""
    async with journey.socket(path, ticket) as ws:
        try:
            await ws.send(json.dumps({"type": "resync", "since": 0}))
            await next_message(ws)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


@pytest_asyncio.fixture
async def journey(app: App) -> AsyncIterator[Journey]:
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as http:
        yield Journey(app, http)


async def test_api_client_journey(journey: Journey) -> None:
    app, http = journey.app, journey.http
    shopper = await journey.login(app.shopper_email)
    staff = await journey.login(app.admin_email)
    journey.step("log in as the shopper and as staff (2 token pairs)")

    listing = await http.get("/api/products/", params={"in_stock": "1", "sort": "price", "page_size": 5})
    assert listing.status_code == 200, listing.text
    assert listing.json()["count"] > 0
    product = listing.json()["results"][0]
    assert (product["in_stock"], "stock" in product) == (True, False)  # a list card shows the badge, not the count
    detail = await http.get(f"/api/products/{product['id']}/")
    assert detail.status_code == 200
    assert detail.json()["stock"] > 0
    journey.step("list products in stock, open the cheapest")

    placed = await http.post(
        "/api/orders/", json={"lines": [{"product_id": product["id"], "quantity": 1}], "address": ADDRESS},
        headers=auth(shopper),
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["seq"], order["total"]) == ("pending", 1, product["price"])
    assert placed.headers["Location"] == f"/api/orders/{order['id']}/"
    paid = await http.post(f"/api/orders/{order['id']}/pay/", headers=auth(shopper))
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["seq"]) == ("paid", 2)
    journey.step("place the order, pay for it")

    ticket = await http.post("/api/auth/ws-ticket/", headers=auth(shopper))
    assert ticket.status_code == 200, ticket.text
    used_ticket = ticket.json()["ticket"]
    spare = await http.post("/api/auth/ws-ticket/", headers=auth(shopper))  # kept, unused, until after logout
    order_path = f"/ws/orders/{order['id']}/"
    async with journey.socket(order_path, used_ticket) as ws:
        await ws.send(json.dumps({"type": "resync", "since": 0}))
        resync = await next_message(ws)
        assert resync["type"] == "order.resync"
        assert (resync["order"]["status"], [event["seq"] for event in resync["events"]]) == ("paid", [1, 2])
        journey.step("get a ticket, open the order's socket, resync")

        changed_at = time.perf_counter()
        ship = asyncio.create_task(
            http.post(f"/api/orders/{order['id']}/status/", json={"status": "shipped"}, headers=auth(staff))
        )
        push = await next_message(ws)
        push_ms = (time.perf_counter() - changed_at) * 1000
        shipped = await ship
        assert shipped.status_code == 200, shipped.text
        assert (shipped.json()["status"], shipped.json()["seq"]) == ("shipped", 3)
        assert push["type"] == "order.changed"
        assert {key: push["order"][key] for key in ("order_id", "status", "seq")} == {
            "order_id": order["id"], "status": "shipped", "seq": 3,
        }  # fmt: skip
        event = push["order"]["event"]
        assert (event["seq"], event["from"], event["to"], event["actor"]) == (3, "paid", "shipped", app.admin_email)
        journey.step(f"staff ship it over the API -> push on the socket ({push_ms:.0f} ms)")

        logout = await http.post("/api/auth/logout/", headers=auth(shopper))
        assert logout.status_code == 204, logout.text
        with pytest.raises(ConnectionClosed) as closed:
            await next_message(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED, "the socket open when its API session logged out"
        journey.step("log out -> the socket opened with that session's ticket closes with 4401")

    refused = await http.get(f"/api/orders/{order['id']}/", headers=auth(shopper))
    assert refused.status_code == 401
    assert refused.json() == {"detail": english(ERROR_REVOKED), "code": "token_not_valid"}
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    refresh = await http.post("/api/auth/token/refresh/", json={"refresh": shopper["refresh"]})
    assert refresh.status_code == 401
    assert refresh.json() == {"detail": english(ERROR_FAMILY_ENDED), "code": "token_not_valid"}
    journey.step("log out -> the next API call and a refresh get 401")

    new_ticket = await http.post("/api/auth/ws-ticket/", headers=auth(shopper))
    assert new_ticket.status_code == 401
    assert new_ticket.json()["detail"] == english(ERROR_REVOKED)
    assert await close_code(journey, order_path, used_ticket) == CLOSE_UNAUTHENTICATED, "a used ticket"
    assert await close_code(journey, order_path, spare.json()["ticket"]) == CLOSE_UNAUTHENTICATED, (
        "an unused ticket from before the logout"
    )
    assert (await http.get(f"/api/orders/{order['id']}/", headers=auth(staff))).json()["status"] == "shipped"
    journey.step("no new ticket; old tickets' sockets are closed with 4401")
    print(f"\n{journey.report()}")
    assert journey.total_s < 30, journey.report()
