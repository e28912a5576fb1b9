"""Redis is killed (SIGKILL) under signed-in shoppers who browse and fill their carts, and started
again from its append-only file.

Site sessions are stored in MongoDB and read from their copies in Redis (accounts/session_store.py).
While Redis is down the shoppers keep browsing and adding to their carts; the restarted Redis
comes back holding the copies from before the outage, older than what MongoDB acknowledged
meanwhile. Afterwards every shopper is still signed in, every cart line the shop acknowledged
(a 302 to the cart) is in their cart, and no request was answered with a 500.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import Counter
from concurrent.futures import Future

import httpx
import pytest

from devstack.testing import SplitStack, status_of
from tests.faults.helpers import ADMIN, PASSWORD, SHOPPER, Visitor, wait_until

pytestmark = pytest.mark.slow

NEW_SHOPPERS = 3


class Browsing:
    """One signed-in shopper's browser: catalog pages in a loop, cart additions when asked.

    Its thread alone uses the visitor's client (cookies change when the session moves to a new key).
    """

    def __init__(self, visitor: Visitor, pages: list[str]) -> None:
        self.visitor, self.pages = visitor, pages
        self.asks: queue.Queue[tuple[str, str, Future[int]]] = queue.Queue()
        self.statuses: Counter[int] = Counter()
        self.signed_out: list[str] = []
        self.acknowledged: Counter[str] = Counter()  # product id -> units the shop said were added
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._browse, daemon=True)

    def add(self, product_id: str, slug: str) -> Future[int]:
        done: Future[int] = Future()
        self.asks.put((product_id, slug, done))
        return done

    def _browse(self) -> None:
        turn = 0
        while not self.stop.is_set():
            try:
                product_id, slug, done = self.asks.get_nowait()
            except queue.Empty:
                self._visit(self.pages[turn % len(self.pages)])
                turn += 1
                continue
            try:
                response = self.visitor.post_form(
                    "/orders/cart/add/", {"product_id": product_id, "quantity": "1"}, page=f"/p/{slug}/"
                )
                self.statuses[response.status_code] += 1
                if response.status_code == 302 and response.headers["location"] == "/orders/cart/":
                    self.acknowledged[product_id] += 1
                done.set_result(response.status_code)
            except Exception as error:  # noqa: BLE001 - handed to the test, which fails on it
                done.set_exception(error)

    def _visit(self, path: str) -> None:
        try:
            response = self.visitor.http.get(path)
        except httpx.HTTPError:
            self.statuses[0] += 1
            return
        self.statuses[response.status_code] += 1
        if response.status_code == 200 and "data-account-link" not in response.text:
            self.signed_out.append(path)


def sign_up(stack: SplitStack, number: int) -> Visitor:
    email = f"restart{number}@example.com"
    visitor = Visitor(stack, email, httpx.Client(base_url=stack.base_url, timeout=30))
    form = {"email": email, "full_name": f"Shopper {number}", "password1": PASSWORD, "password2": PASSWORD}
    assert visitor.post_form("/account/signup/", form).status_code == 302
    return visitor


def cart_lines(visitor: Visitor) -> tuple[Counter[str], int]:
    """The cart page's lines (product id -> quantity) and the header's count."""
    page = visitor.http.get("/orders/cart/").text
    lines: Counter[str] = Counter()
    for row in re.findall(r'<form[^>]*action="/orders/cart/update/".*?</form>', page, flags=re.S):
        product = re.search(r'name="product_id" value="([0-9a-f]{24})"', row)
        quantity = re.search(r'name="quantity"[^>]*value="(\d+)"', row)
        assert product, row
        assert quantity, row
        lines[product.group(1)] = int(quantity.group(1))
    header = re.search(r"Cart \((\d+)\)", page)
    assert header, page[:2000]
    return lines, int(header.group(1))


def test_a_redis_restart_signs_nobody_out_and_loses_no_acknowledged_cart_line(stack: SplitStack) -> None:
    visitors = [Visitor.logged_in(stack, SHOPPER), Visitor.logged_in(stack, ADMIN)]
    visitors += [sign_up(stack, number) for number in range(NEW_SHOPPERS)]
    products = httpx.get(f"{stack.base_url}/api/products/?page_size=8&in_stock=true", timeout=30).json()["results"]
    category = products[0]["category"]["slug"]
    pages = [f"/c/{category}/", f"/p/{products[0]['slug']}/", "/search/?q=a", "/orders/cart/", "/account/"]
    shoppers = [Browsing(visitor, pages) for visitor in visitors]
    for shopper in shoppers:
        shopper.thread.start()

    def everyone_adds(product: dict) -> None:
        asked = [shopper.add(product["id"], product["slug"]) for shopper in shoppers]
        assert [done.result(timeout=60) for done in asked] == [302] * len(shoppers)

    everyone_adds(products[0])
    everyone_adds(products[1])
    time.sleep(1.5)  # Redis writes its append-only file every second: it will come back with these carts
    stack.kill(stack.redis)
    killed = time.monotonic()

    everyone_adds(products[2])  # acknowledged while Redis is down: in MongoDB only
    everyone_adds(products[1])
    time.sleep(1)
    outage = time.monotonic() - killed
    stack.start_redis()
    wait_until(lambda: status_of(f"{stack.base_url}/healthz") == 200, 15, "/healthz is 200 again")
    time.sleep(1)  # the shoppers browse on after the restart
    everyone_adds(products[3])

    for shopper in shoppers:
        shopper.stop.set()
        shopper.thread.join(30)
    for shopper in shoppers:
        lines, count = cart_lines(shopper.visitor)
        assert lines == shopper.acknowledged, shopper.visitor.email
        assert count == sum(shopper.acknowledged.values()) == 5
        assert shopper.visitor.http.get("/account/").status_code == 200, f"{shopper.visitor.email} was signed out"
    statuses = sum((shopper.statuses for shopper in shoppers), Counter())
    assert not [status for status in statuses if status >= 500 or status == 0], statuses
    assert not [path for shopper in shoppers for path in shopper.signed_out]
    print(
        f"\nRedis restart under {len(shoppers)} signed-in shoppers: Redis down {outage:.1f} s, "
        f"{sum(statuses.values())} requests ({dict(sorted(statuses.items()))}), nobody signed out, "
        f"every cart has its {sum(shoppers[0].acknowledged.values())} acknowledged units"
    )
