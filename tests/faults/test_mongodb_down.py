"""MongoDB is killed (SIGKILL) while shoppers check out scarce products, then started again.

While it is down: pages that need it answer a friendly 503 page (no traceback, in the
visitor's language), the API answers 503 JSON, /healthz names MongoDB, and no request gets a
500. Once it is back, without restarting the app, everything answers again and nothing is
half-written: every order is whole (lines, timeline 1..n) with its stock taken, and every unit
taken for an order that was never stored is back on sale (stock + units sold == before).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from devstack.testing import SplitStack, status_of
from tests.faults.helpers import ADDRESS, ADMIN, HOLD_TIMEOUT_SECONDS, SHOPPER, Visitor, mongo, wait_until

pytestmark = pytest.mark.slow

SCARCE_STOCK = 12
SHOPPERS = 8
UNAVAILABLE = "The shop's database is not answering right now"


def units_sold(db: Any, product_ids: list[str]) -> Counter[str]:
    sold: Counter[str] = Counter()
    for order in db.orders_order.find({"status": {"$ne": "cancelled"}}, {"lines": 1}):
        for line in order["lines"]:
            if str(line["product_id"]) in product_ids:
                sold[str(line["product_id"])] += line["quantity"]
    return sold


def stock_of(db: Any, product_ids: list[str]) -> dict[str, int]:
    documents = db.shop_product.find({}, {"stock": 1})
    return {str(doc["_id"]): doc["stock"] for doc in documents if str(doc["_id"]) in product_ids}


def ledger_entries(db: Any) -> list[Any]:
    documents = db.shop_product.find({"stock_ledger.0": {"$exists": True}})
    return [entry for document in documents for entry in document["stock_ledger"]]


class Checkouts:
    """Shoppers buying one to three scarce products at a time, as fast as the shop answers."""

    def __init__(self, stack: SplitStack, shopper: Visitor, product_ids: list[str]) -> None:
        self.stack, self.shopper, self.product_ids = stack, shopper, product_ids
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.failures: list[tuple[int, str]] = []
        self.placed: list[str] = []
        self.threads = [threading.Thread(target=self._shop, args=(seed,)) for seed in range(SHOPPERS)]

    def _shop(self, seed: int) -> None:
        chooser = random.Random(seed)  # noqa: S311 - picking products, not secrets
        with httpx.Client(base_url=self.stack.base_url, timeout=30) as http:
            while not self.stop.is_set():
                chosen = chooser.sample(self.product_ids, chooser.randint(1, len(self.product_ids)))
                lines = [{"product_id": pid, "quantity": chooser.randint(1, 2)} for pid in chosen]
                try:
                    response = http.post(
                        "/api/orders/", json={"lines": lines, "address": ADDRESS}, headers=self.shopper.bearer
                    )
                except httpx.TransportError as error:
                    self.failures.append((0, repr(error)))
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    self.placed.append(response.json()["id"])
                elif response.status_code >= 500:
                    self.failures.append((response.status_code, response.text[:300]))

    def __enter__(self) -> Checkouts:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_mongodb_outage_answers_503_and_leaves_nothing_half_written(stack: SplitStack) -> None:
    shopper, admin = Visitor.logged_in(stack, SHOPPER), Visitor.logged_in(stack, ADMIN)
    products = shopper.http.get("/api/products/?page_size=3&in_stock=true&sort=price").json()["results"]
    product_ids = [product["id"] for product in products]
    for product_id in product_ids:
        response = admin.http.patch(f"/api/products/{product_id}/", json={"stock": SCARCE_STOCK}, headers=admin.bearer)
        assert response.status_code == 200, response.text
    db = mongo(stack)
    units_before = {pid: SCARCE_STOCK + units_sold(db, product_ids)[pid] for pid in product_ids}

    with Checkouts(stack, shopper, product_ids) as checkouts:
        wait_until(lambda: checkouts.statuses[201] >= 3, 20, "checkouts are running")
        stack.kill(stack.mongo)
        time.sleep(2)

        # Pages that need MongoDB: a friendly page, in the visitor's language, no traceback.
        for language, heading in (("en", "Back in a moment"), ("es", "Volvemos enseguida")):
            asked = time.monotonic()
            page = shopper.http.get("/orders/", headers={"Accept-Language": language})
            answered_in = time.monotonic() - asked
            assert page.status_code == 503
            assert heading in page.text
            assert f'<html lang="{language}">' in page.text
            assert "Traceback" not in page.text
            assert "DatabaseError" not in page.text
            assert page.headers["Retry-After"] == "30"
        search = httpx.get(f"{stack.base_url}/search/?q=never-cached-{time.time_ns()}", timeout=30)
        assert (search.status_code, "Back in a moment" in search.text) == (503, True)

        # The API: 503 JSON with a message, for anonymous and token requests alike.
        for response in (
            httpx.get(f"{stack.base_url}/api/products/?q=never-cached-{time.time_ns()}", timeout=30),
            shopper.http.get("/api/orders/", headers=shopper.bearer),
        ):
            assert response.status_code == 503
            assert response.json()["code"] == "database_unavailable"
            assert response.json()["detail"].startswith(UNAVAILABLE)
        health = httpx.get(f"{stack.base_url}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json()["dependencies"]["mongodb"]["status"] == "down"
        assert health.json()["dependencies"]["redis"]["status"] == "ok"
        assert checkouts.statuses[503] >= 1, "checkouts ran into the outage"

    assert checkouts.statuses[500] == 0, checkouts.failures
    assert all(status == 503 and UNAVAILABLE in body for status, body in checkouts.failures), checkouts.failures
    assert set(checkouts.statuses) <= {201, 409, 503}, checkouts.statuses

    restarting = time.monotonic()
    stack.start_mongo()
    wait_until(lambda: status_of(f"{stack.base_url}/healthz") == 200, 30, "/healthz is 200 again")
    healthy_after = time.monotonic() - restarting
    assert shopper.http.get("/orders/").status_code == 200
    assert shopper.http.get("/api/orders/", headers=shopper.bearer).status_code == 200

    # Whatever the kill interrupted is settled by the running app once it is old enough.
    left_behind = len(ledger_entries(db))
    wait_until(lambda: not ledger_entries(db), HOLD_TIMEOUT_SECONDS + 20, "the stock ledger is settled")
    settled_after = time.monotonic() - restarting
    stock = stock_of(db, product_ids)
    sold = units_sold(db, product_ids)
    assert {pid: stock[pid] + sold[pid] for pid in product_ids} == units_before, (
        f"stock {stock}, sold {dict(sold)}, ledger entries after the restart: {left_behind}"
    )
    stored = {str(order["_id"]): order for order in db.orders_order.find()}
    assert set(checkouts.placed) <= set(stored), "every order confirmed to a shopper exists"
    for order in stored.values():
        assert order["lines"], order["number"]
        assert [event["seq"] for event in order["events"]] == list(range(1, order["seq"] + 1)), order["number"]
    print(
        f"\nMongoDB down: 503 page in {answered_in:.2f} s; checkouts {dict(checkouts.statuses)}; healthy "
        f"{healthy_after:.1f} s after the restart; ledger entries left by the kill: {left_behind}, settled "
        f"{settled_after:.1f} s after the restart"
    )
