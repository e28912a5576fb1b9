"""Redis dies under a running shop, then comes back on the same port with its append-only file.

While it is down: the catalog still answers from MongoDB, API calls with a token are refused
with 503 (the blocklist cannot be read, so no token passes), /healthz names Redis, open order
pages lose their socket and keep reconnecting, and orders still change through the site and
Django admin (their pushes are lost). Once it is back, without restarting the app: sockets
reconnect and their resync brings every change made meanwhile, tokens work, pushes arrive,
and no page shows an answer cached before the outage.
"""

from __future__ import annotations

import time

import httpx
import pytest
import redis

from devstack.testing import SplitStack, status_of
from tests.faults.helpers import ADDRESS, ADMIN, SHOPPER, Visitor, wait_until
from tests.faults.live import LivePage

pytestmark = pytest.mark.slow

CLOSE_TRY_AGAIN_LATER = 1013


def live_page(stack: SplitStack, visitor: Visitor, path: str, last_seq: int = 0) -> LivePage:
    page = LivePage(stack.ws_url, path, visitor.cookie, stack.base_url, last_seq=last_seq).start()
    page.wait_for(lambda p: p.state == "live", 10, f"{path} connects")
    return page


def test_redis_outage_fails_closed_for_tokens_open_for_the_catalog_and_loses_no_change(stack: SplitStack) -> None:
    shopper, admin = Visitor.logged_in(stack, SHOPPER), Visitor.logged_in(stack, ADMIN)
    product = shopper.http.get("/api/products/?page_size=1&in_stock=true").json()["results"][0]
    stock_at_start = shopper.http.get(f"/api/products/{product['id']}/").json()["stock"]  # list cards carry no count
    shipped, cancelled = (shopper.order((product["id"], 1)) for _ in range(2))
    stock_before = stock_at_start - 2
    assert shopper.http.get(f"/api/products/{product['id']}/").json()["stock"] == stock_before  # cached now
    order_page = live_page(stack, shopper, f"/ws/orders/{shipped['id']}/")
    order_list = live_page(stack, shopper, "/ws/orders/")
    assert (order_page.status, order_page.last_seq) == ("pending", 1)
    time.sleep(1.5)  # Redis writes its append-only file every second: let it hold the cached answer

    stack.kill(stack.redis)
    killed = time.monotonic()

    # Open pages notice at once and keep trying.
    for page in (order_page, order_list):
        page.wait_for(lambda p: p.state == "reconnecting", 5, "the page sees its socket close")
        assert page.closes[0] == CLOSE_TRY_AGAIN_LATER, page.describe()
    noticed = time.monotonic() - killed
    attempts = order_page.attempts
    order_page.wait_for(lambda p: p.attempts >= attempts + 2, 10, "the page keeps reconnecting")
    assert order_page.state == "reconnecting"

    # The catalog answers from MongoDB, pages and API alike.
    category = product["category"]["slug"]
    for path in ("/", f"/c/{category}/", f"/p/{product['slug']}/", "/search/?q=cotton", "/api/products/"):
        assert shopper.http.get(path).status_code == 200, path
    assert shopper.http.get(f"/api/products/{product['id']}/").json()["stock"] == stock_before

    # A token's state cannot be read: refused, with a message saying why.
    refused = shopper.http.get("/api/orders/", headers=shopper.bearer)
    assert refused.status_code == 503
    assert refused.json() == {
        "detail": "Sign-in checks are unavailable right now, so the request was refused. Try again shortly.",
        "code": "auth_unavailable",
    }
    health = stack_health(stack)
    assert health["dependencies"]["redis"]["status"] == "down"
    assert health["dependencies"]["mongodb"]["status"] == "ok"

    # Orders still change through the site and the admin (session logins live in MongoDB); the
    # change is stored even though its push cannot be sent.
    number = shipped["number"]
    assert shopper.post_form(f"/orders/{number}/pay/", {}, page=f"/orders/{number}/").status_code == 302
    change = f"/admin/orders/order/{shipped['id']}/change/"
    assert admin.post_form(change, {"status": "shipped", "_save": "Save"}).status_code == 302
    cancel = f"/orders/{cancelled['number']}/"
    assert shopper.post_form(f"{cancel}cancel/", {}, page=cancel).status_code == 302
    assert 'data-status="shipped"' in shopper.http.get(f"/orders/{number}/").text
    assert order_page.last_seq == 1, "nothing can reach the page while Redis is down"

    attempts_while_down = order_page.attempts - 1
    stack.start_redis()
    restarted = time.monotonic()

    wait_until(lambda: status_of(f"{stack.base_url}/healthz") == 200, 10, "/healthz is 200 again")
    order_page.wait_for(lambda p: p.state == "live" and p.last_seq == 3, 15, "the order page catches up")
    caught_up = time.monotonic() - restarted
    assert [(e["seq"], e["from"], e["to"]) for e in order_page.timeline.values()] == [
        (1, "", "pending"),
        (2, "pending", "paid"),
        (3, "paid", "shipped"),
    ]
    assert order_page.status == "shipped"
    order_list.wait_for(lambda p: p.state == "live", 15, "the order list reconnects")
    order_list.wait_for(lambda p: p.orders[cancelled["id"]]["status"] == "cancelled", 5, "the list resynced")

    # The cancelled unit is back on sale: not the answer cached before the outage, which the
    # restarted Redis still holds.
    assert shopper.http.get(f"/api/products/{product['id']}/").json()["stock"] == stock_before + 1
    assert redis.Redis.from_url(stack.env["REDIS_URL"]).keys("cache:shop:val:product.*"), "cached again"

    # Tokens work again (the same token), and so do pushes.
    assert shopper.http.get("/api/orders/", headers=shopper.bearer).status_code == 200
    pushes = order_list.pushes
    placed = shopper.order((product["id"], 1))
    order_list.wait_for(lambda p: p.pushes > pushes and placed["id"] in p.orders, 10, "a new order is pushed")
    order_page.stop()
    order_list.stop()
    print(
        f"\nRedis down: sockets closed {noticed:.2f} s after the kill (1013); the order page tried "
        f"{attempts_while_down} more times while Redis was down; back {caught_up:.2f} s after Redis restarted"
    )


def stack_health(stack: SplitStack) -> dict:
    response = httpx.get(f"{stack.base_url}/healthz", timeout=10)
    assert response.status_code == 503
    return response.json()


def test_a_checkout_while_redis_is_down_is_placed_and_its_email_arrives_after(stack: SplitStack) -> None:
    """The site checkout (session in MongoDB) works without Redis; the e-mail job could not be queued,
    so the reconciliation on the worker's scheduler sends it once Redis is back."""
    shopper = Visitor.logged_in(stack, SHOPPER)
    product = shopper.http.get("/api/products/?page_size=1&in_stock=true").json()["results"][0]
    page = f"/p/{product['slug']}/"  # the product page's add-to-cart form
    added = shopper.post_form("/orders/cart/add/", {"product_id": product["id"], "quantity": "1"}, page=page)
    assert added.status_code == 302, added.text[:300]
    mail_dir = stack.var_dir / "mail"
    before = sum(1 for _ in mail_dir.glob("*.log")) if mail_dir.exists() else 0

    stack.kill(stack.redis)
    placed = shopper.post_form("/orders/checkout/", dict(ADDRESS))
    assert placed.status_code == 302, placed.text[:500]
    number = placed.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    time.sleep(2)
    assert not any(number in path.read_text() for path in mail_dir.glob("*.log")) if mail_dir.exists() else True

    stack.start_redis()
    wait_until(
        lambda: mail_dir.exists() and any(number in path.read_text() for path in mail_dir.glob("*.log")),
        90, "the order e-mail is sent after Redis is back",
    )  # fmt: skip
    time.sleep(3)
    sent = [path for path in mail_dir.glob("*.log") if number in path.read_text()]
    assert len(sent) == 1
    assert sent[0].read_text().count(f"Subject: Order {number} placed") == 1
    assert sum(1 for _ in mail_dir.glob("*.log")) >= before + 1
