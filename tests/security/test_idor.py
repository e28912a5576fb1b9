"""IDOR: every object endpoint, called by another shopper with a real id, and with guessed and
malformed ids. The rule (docs/api.md): 404, with the same answer as for an id that does not
exist, so nobody can probe which exist; never another user's data, never a change to it.
Staff-only actions answer 403 to shoppers whatever the id.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts import services as account_services
from accounts.models import User
from config.asgi import application
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from shop import services as shop_services
from tests.security.helpers import bearer, signed_in

GUESSED_IDS = [
    "000000000000000000000000",
    "ffffffffffffffffffffffff",
    "not-an-id",
    "0" * 23,
    "0" * 25,
    "1234567890ab",  # 12 characters: bson would take 12 *bytes* as an ObjectId
    quote('{"$gt": ""}', safe=""),
    quote("' || '1'=='1", safe=""),
    "%00",
]
GUESSED_NUMBERS = [
    "T000000-AAAAAA",
    "t000000-aaaaaa",
    "*",
    quote(".*", safe=""),
    quote('{"$ne": null}', safe=""),
    "x" * 300,
]


def api(user: User) -> Client:
    return Client(headers=bearer(user))


def variants(order_id: str) -> list[str]:
    """The real id, then the same id in other spellings that must not reach a different answer."""
    return [order_id, order_id.upper(), f"{order_id}%20", f"{order_id}x"]


def test_another_shoppers_order_answers_exactly_like_a_missing_one_in_the_api(
    people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    bob = api(people.bob)
    missing = bob.get("/api/orders/000000000000000000000000/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "You have no order with that id.", "code": "not_found"}
    for order_id in [*variants(str(order.pk)), *GUESSED_IDS]:
        for method, path in [
            ("get", f"/api/orders/{order_id}/"),
            ("post", f"/api/orders/{order_id}/cancel/"),
            ("post", f"/api/orders/{order_id}/pay/"),
        ]:
            response = getattr(bob, method)(path, content_type="application/json")
            assert response["Content-Type"] == "application/json", (method, path, response.status_code)
            assert (response.status_code, response.json()) == (404, missing.json()), (method, path)
        # Staff only, checked before the id is looked up: no way to probe either.
        status = bob.post(f"/api/orders/{order_id}/status/", {"status": "shipped"}, content_type="application/json")
        assert status.status_code == 403, order_id
    order.refresh_from_db()
    assert (order.status, order.seq) == (OrderStatus.PENDING, 1)  # untouched
    assert api(people.ana).get(f"/api/orders/{order.pk}/").status_code == 200  # the owner still sees it


def test_order_lists_never_include_another_shoppers_orders(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    place(people.ana, (goods.mug.pk, 1))
    mine = place(people.bob, (goods.mug.pk, 2))
    bob = api(people.bob)
    for query in ("", f"?email={people.ana.email}", f"?user={people.ana.pk}", "?user_id=&email=", "?page_size=100"):
        listed = bob.get(f"/api/orders/{query}").json()
        assert [row["id"] for row in listed["results"]] == [str(mine.pk)], query
        assert listed["count"] == 1
    page = signed_in(people.bob).get("/orders/")
    assert mine.number in page.text
    assert Order.objects.get(user=people.ana).number not in page.text


def test_another_shoppers_order_page_is_the_404_page(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    bob = signed_in(people.bob)
    for number in [order.number, order.number.lower(), *GUESSED_NUMBERS]:
        page = bob.get(f"/orders/{number}/")
        assert page.status_code == 404, number
        # (The number itself is in the page: the language form sends the visitor back to this URL.)
        assert "Calle Mayor" not in page.text
        assert "ana@example.com" not in page.text
        for action in ("pay", "cancel"):
            assert bob.post(f"/orders/{number}/{action}/").status_code == 404, (number, action)
    order.refresh_from_db()
    assert (order.status, order.seq) == (OrderStatus.PENDING, 1)
    assert signed_in(people.ana).get(f"/orders/{order.number}/").status_code == 200


def test_staff_only_pages_refuse_shoppers(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    place(people.ana, (goods.mug.pk, 1))
    bob = signed_in(people.bob)
    for path in ("/staff/orders/", "/staff/cache/", "/staff/cache.json", "/staff/analytics/"):
        response = bob.get(path)
        assert response.status_code in (302, 403), path
        assert "ana@example.com" not in response.content.decode()
    assert bob.get("/admin/").status_code == 302  # to the admin's login page
    assert bob.get(f"/admin/orders/order/{Order.objects.get().pk}/change/").status_code == 302


@pytest.mark.asyncio
@pytest.mark.parametrize("order_id", ["{real}", "{real_upper}", *GUESSED_IDS[:6]])
async def test_another_shoppers_order_socket_closes_4404(
    people: SimpleNamespace, goods: SimpleNamespace, order_id: str
) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    path = order_id.format(real=order.pk, real_upper=str(order.pk).upper())
    ticket = (await sync_to_async(account_services.ws_ticket_issue)(user=people.bob))["ticket"]
    socket = WebsocketCommunicator(
        application,
        f"/ws/orders/{path}/?ticket={ticket}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


def test_another_users_api_session_cannot_be_ended(people: SimpleNamespace) -> None:
    anas_pair = account_services.token_pair_issue(user=people.ana)
    anas_session = account_services.api_sessions(user=people.ana)[0]["family"]
    bob = api(people.bob)
    listed = bob.get("/api/auth/sessions/").json()
    assert anas_session not in [row["id"] for row in listed]
    for session_id in (anas_session, quote('{"$gt": ""}', safe=""), "*", "x" * 300):
        response = bob.delete(f"/api/auth/sessions/{session_id}/")
        assert response.status_code == 404, session_id
        assert response.json()["detail"] == "You have no active session with that id."
    # The same through the site's sessions page.
    page = signed_in(people.bob).post(f"/account/sessions/{anas_session}/end/", follow=True)
    assert "That session had already ended." in page.content.decode()
    anas_client = Client(headers={"Authorization": f"Bearer {anas_pair['access']}"})
    assert anas_client.get("/api/orders/").status_code == 200  # Ana's session still works
    assert [row["family"] for row in account_services.api_sessions(user=people.ana)] == [anas_session]


def test_carts_belong_to_their_browser_session(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    ana, bob = signed_in(people.ana), signed_in(people.bob)
    assert ana.post("/orders/cart/add/", {"product_id": str(goods.teapot.pk), "quantity": 2}).status_code == 302
    assert "Last teapot" in ana.get("/orders/cart/").content.decode()
    assert "Last teapot" not in bob.get("/orders/cart/").content.decode()
    # A product id of someone else's cart line, or a made-up one, changes nothing in Bob's cart.
    for product_id in (str(goods.teapot.pk), "000000000000000000000000", '{"$gt": ""}'):
        bob.post("/orders/cart/update/", {"product_id": product_id, "quantity": 5})
        bob.post("/orders/cart/remove/", {"product_id": product_id})
    assert "Last teapot" not in bob.get("/orders/cart/").content.decode()
    assert "Last teapot" in ana.get("/orders/cart/").content.decode()


def test_products_off_sale_are_not_found_by_id_for_shoppers(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    shop_services.product_update(product=goods.teapot, is_active=False)
    bob = api(people.bob)
    answer = bob.get(f"/api/products/{goods.teapot.pk}/")
    assert answer.status_code == 404
    assert answer.json() == bob.get("/api/products/000000000000000000000000/").json()
    for method in ("put", "patch", "delete"):
        response = getattr(bob, method)(
            f"/api/products/{goods.mug.pk}/", {"price": "0.01"}, content_type="application/json"
        )
        assert response.status_code == 403, method
    goods.mug.refresh_from_db()
    assert str(goods.mug.price) == "8.50"
