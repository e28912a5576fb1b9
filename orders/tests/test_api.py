"""The orders API (orders/api.py): placing, listing, reading and changing orders over HTTP.

Each database test costs a flush (~0.3 s), so related assertions share a test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_pair_issue
from common.api.queries import ERROR_PAGE, ERROR_PAGE_SIZE
from orders import api, serializers
from orders.models import Order, OrderStatus
from orders.tests.factories import place
from shop.models import Product

ORDERS = "/api/orders/"
NO_SUCH_ID = "000000000000000000000000"
ADDRESS = {"full_name": "Ana García", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013"}
ADDRESS_SENT = {**ADDRESS, "country": "es"}


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def cart(*lines: tuple[object, object]) -> dict[str, Any]:
    return {"lines": [{"product_id": str(pk), "quantity": qty} for pk, qty in lines], "address": ADDRESS_SENT}


def test_place_an_order(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    # Through a real JWT, as API clients do.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=people.ana)['access']}")
    response = client.post(ORDERS, cart((goods.mug.pk, 2), (goods.teapot.pk, 1)), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/orders/{order.pk}/"
    assert body == {
        "id": str(order.pk), "number": order.number, "status": "pending", "status_label": "Pending payment",
        "seq": 1, "email": "ana@example.com", "currency": "EUR", "total": "47.00",
        "lines": [
            {"product_id": str(goods.mug.pk), "sku": "MUG-1", "name": "Mug", "unit_price": "8.50", "quantity": 2,
             "line_total": "17.00"},
            {"product_id": str(goods.teapot.pk), "sku": "TEA-1", "name": "Last teapot", "unit_price": "30.00",
             "quantity": 1, "line_total": "30.00"},
        ],
        "address": {**ADDRESS, "line2": "", "country": "ES"},  # the country is upper-cased
        "events": [{"seq": 1, "from": "", "to": "pending", "actor": "ana@example.com", "at": body["events"][0]["at"],
                    "reason": ""}],
        "created_at": body["created_at"], "updated_at": body["updated_at"], "pay_by": body["pay_by"],
    }  # fmt: skip
    window = datetime.fromisoformat(body["pay_by"]) - datetime.fromisoformat(body["created_at"])
    assert window == timedelta(minutes=30)  # ORDER_PAYMENT_WINDOW_MINUTES's default
    assert (stock(goods.mug), stock(goods.teapot)) == (38, 4)


def test_bad_carts_answer_400_and_take_nothing(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    client = client_for(people.ana)

    def rejected(payload: dict[str, Any]) -> dict[str, Any]:
        response = client.post(ORDERS, payload, format="json")
        assert response.status_code == 400, response.content
        return response.json()

    assert rejected(cart((NO_SUCH_ID, 1)))["code"] == "invalid_line"  # a well-formed id, but no such product
    assert rejected(cart())["code"] == "empty_cart"
    assert rejected(cart(("not-an-id", 1))) == {"lines": {"0": {"product_id": [str(serializers.ERROR_PRODUCT_ID)]}}}
    assert rejected(cart((goods.mug.pk, 0))) == {"lines": {"0": {"quantity": [str(serializers.ERROR_QUANTITY)]}}}
    assert rejected(cart((goods.mug.pk, 100))) == {"lines": {"0": {"quantity": [str(serializers.ERROR_QUANTITY)]}}}
    assert rejected(cart((goods.mug.pk, "two"))) == {"lines": {"0": {"quantity": [str(serializers.ERROR_QUANTITY)]}}}
    assert rejected(cart(*[(goods.mug.pk, 1)] * 51)) == {"lines": [str(api.ERROR_TOO_MANY_LINES)]}
    # The same product on two lines is merged: 60 + 60 mugs is over the limit of 99.
    assert rejected(cart((goods.mug.pk, 60), (goods.mug.pk, 60)))["code"] == "invalid_line"
    errors = rejected({"lines": [{"product_id": str(goods.mug.pk), "quantity": 1}], "address": {"country": "Spain"}})
    assert set(errors["address"]) == {"full_name", "line1", "city", "postal_code", "country"}
    assert errors["address"]["country"] == [str(serializers.ERROR_COUNTRY)]
    assert Order.objects.count() == 0
    assert stock(goods.mug) == 40


def test_out_of_stock_is_409_and_takes_nothing(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    response = client_for(people.ana).post(ORDERS, cart((goods.mug.pk, 1), (goods.teapot.pk, 6)), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Only 5 of “Last teapot” left: lower the quantity and try again.",
        "code": "out_of_stock",
    }
    assert (stock(goods.mug), stock(goods.teapot), Order.objects.count()) == (40, 5, 0)


def test_too_many_unpaid_orders_is_409_and_takes_nothing(
    people: SimpleNamespace, goods: SimpleNamespace, settings
) -> None:
    settings.MAX_PENDING_ORDERS_PER_USER = 1
    place(people.ana, (goods.teapot.pk, 1))
    response = client_for(people.ana).post(ORDERS, cart((goods.teapot.pk, 1)), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "You already have 1 order waiting for payment. Pay for or cancel it before placing another.",
        "code": "too_many_pending_orders",
    }
    assert (stock(goods.teapot), Order.objects.count()) == (4, 1)


def test_lists_show_own_orders_and_staff_see_all(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    first = place(people.ana, (goods.mug.pk, 1))
    second = place(people.ana, (goods.mug.pk, 2))
    bobs = place(people.bob, (goods.teapot.pk, 1))
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.PAID)

    body = client_for(people.ana).get(ORDERS).json()
    assert {key: body[key] for key in ("count", "page", "pages", "page_size", "next", "previous")} == {
        "count": 2, "page": 1, "pages": 1, "page_size": 24, "next": None, "previous": None,
    }  # fmt: skip
    assert [row["number"] for row in body["results"]] == [second.number, first.number]  # newest first
    # A shopper's e-mail filter cannot reach other customers' orders.
    assert client_for(people.ana).get(ORDERS, {"email": "bob@example.com"}).json()["count"] == 2

    staff = client_for(people.staff)
    assert [row["number"] for row in staff.get(ORDERS).json()["results"]] == [bobs.number, second.number, first.number]
    assert [row["number"] for row in staff.get(ORDERS, {"status": "paid"}).json()["results"]] == [first.number]
    assert [row["number"] for row in staff.get(ORDERS, {"email": "BOB@example.com"}).json()["results"]] == [bobs.number]
    page = staff.get(ORDERS, {"page_size": "2", "page": "2"}).json()
    assert ([row["number"] for row in page["results"]], page["pages"], page["next"]) == ([first.number], 2, None)
    assert page["previous"] == "http://testserver/api/orders/?page_size=2"

    response = staff.get(ORDERS, {"status": "lost", "page_size": "101", "page": "0"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"status": str(api.ERROR_STATUS_FILTER), "page_size": "Page size must be a whole number from 1 "
                   "to 100.", "page": "Page must be a whole number from 1 to 10000."}
    }  # fmt: skip


def test_list_pages_through_the_shared_envelope(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    numbers = [place(people.ana, (goods.mug.pk, 1)).number for _ in range(3)][::-1]  # newest first
    client = client_for(people.ana)

    body = client.get(ORDERS, {"page_size": "2"}).json()
    assert list(body) == list(api.OrderListApi.OutputSerializer().fields)  # the documented shape, in order
    assert ([row["number"] for row in body["results"]], body["pages"]) == (numbers[:2], 2)
    assert body["next"] == "http://testserver/api/orders/?page=2&page_size=2"

    # Past the end: an empty page whose previous link is the last one.
    beyond = client.get(ORDERS, {"page_size": "2", "page": "7"}).json()
    assert (beyond["count"], beyond["results"], beyond["next"]) == (3, [], None)
    assert beyond["previous"] == "http://testserver/api/orders/?page=2&page_size=2"

    for params, errors in [
        ({"page": "abc"}, {"page": str(ERROR_PAGE)}),
        ({"page": "10001"}, {"page": str(ERROR_PAGE)}),
        ({"page_size": "0"}, {"page_size": str(ERROR_PAGE_SIZE)}),
        (
            {"page_size": "2.5", "email": "x" * 255},
            {"page_size": str(ERROR_PAGE_SIZE), "email": str(api.ERROR_EMAIL_FILTER)},
        ),
    ]:
        response = client.get(ORDERS, params)
        assert (response.status_code, response.json()) == (400, {"errors": errors}), params


def test_detail_is_for_owner_and_staff_only(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    assert client_for(people.ana).get(f"{ORDERS}{order.pk}/").json()["number"] == order.number
    assert client_for(people.staff).get(f"{ORDERS}{order.pk}/").json()["number"] == order.number

    bob = client_for(people.bob)
    answers = [bob.get(f"{ORDERS}{order_id}/") for order_id in (order.pk, NO_SUCH_ID, "junk", "x" * 300)]
    assert {response.status_code for response in answers} == {404}
    assert {response.content for response in answers} == {
        b'{"detail":"You have no order with that id.","code":"not_found"}'
    }
    # Writes answer the same as reads: no way to learn that someone else's order exists.
    assert bob.post(f"{ORDERS}{order.pk}/cancel/").content == answers[1].content
    assert bob.post(f"{ORDERS}{order.pk}/pay/").content == answers[1].content
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_customer_cancels_and_pays(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    client = client_for(people.ana)
    cancelled = place(people.ana, (goods.teapot.pk, 2))
    assert stock(goods.teapot) == 3
    response = client.post(f"{ORDERS}{cancelled.pk}/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["seq"], body["events"][-1]["from"], body["events"][-1]["actor"]) == (
        "cancelled", 2, "pending", "ana@example.com",
    )  # fmt: skip
    assert stock(goods.teapot) == 5  # back on sale
    response = client.post(f"{ORDERS}{cancelled.pk}/pay/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Order {cancelled.number} is Cancelled; it cannot become Paid.",
        "code": "illegal_transition",
    }

    paid = place(people.ana, (goods.mug.pk, 1))
    response = client.post(f"{ORDERS}{paid.pk}/pay/")
    assert (response.status_code, response.json()["status"], response.json()["pay_by"]) == (200, "paid", None)
    # Staff may see and cancel it, but paying is the customer's step.
    response = client_for(people.staff).post(f"{ORDERS}{paid.pk}/pay/")
    assert (response.status_code, response.json()["code"]) == (403, "not_owner")


def test_paying_after_the_deadline_is_409_and_the_order_is_cancelled(people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.teapot.pk, 2))
    Order.objects.filter(pk=order.pk).update(pay_by=timezone.now() - timedelta(seconds=1))
    client = client_for(people.ana)

    response = client.post(f"{ORDERS}{order.pk}/pay/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The time to pay for order {order.number} has run out: it is cancelled and its units are back on "
        "sale. Place a new order to buy them.",
        "code": "payment_expired",
    }
    body = client.get(f"{ORDERS}{order.pk}/").json()
    assert (body["status"], body["pay_by"]) == ("cancelled", None)
    assert {key: body["events"][-1][key] for key in ("from", "to", "actor", "reason")} == {
        "from": "pending", "to": "cancelled", "actor": "system", "reason": "payment_expired",
    }  # fmt: skip
    assert stock(goods.teapot) == 5


def test_staff_move_orders_and_shoppers_cannot(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    url = f"{ORDERS}{order.pk}/status/"
    assert client_for(people.ana).post(url, {"status": "paid"}, format="json").status_code == 403
    assert client_for(people.bob).post(f"{ORDERS}{NO_SUCH_ID}/status/", {"status": "paid"}).status_code == 403

    staff = client_for(people.staff)
    for target in ("paid", "shipped", "delivered"):
        response = staff.post(url, {"status": target}, format="json")
        assert (response.status_code, response.json()["status"]) == (200, target)
    events = response.json()["events"]
    assert [(e["seq"], e["from"], e["to"], e["actor"]) for e in events[1:]] == [
        (2, "pending", "paid", "staff@example.com"),
        (3, "paid", "shipped", "staff@example.com"),
        (4, "shipped", "delivered", "staff@example.com"),
    ]
    response = staff.post(url, {"status": "cancelled"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Order {order.number} is Delivered; it cannot become Cancelled.",
        "code": "illegal_transition",
    }
    response = staff.post(url, {"status": "lost"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"status"}
    assert staff.post(f"{ORDERS}junk/status/", {"status": "paid"}, format="json").status_code == 404
    assert Order.objects.get(pk=order.pk).seq == 4


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", ""), ("get", f"{NO_SUCH_ID}/"), ("post", f"{NO_SUCH_ID}/cancel/"),
     ("post", f"{NO_SUCH_ID}/pay/"), ("post", f"{NO_SUCH_ID}/status/")],
)  # fmt: skip
def test_anonymous_is_401_with_a_bearer_challenge(method: str, path: str) -> None:
    response = getattr(APIClient(), method)(f"{ORDERS}{path}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) >= {"detail"}


def test_the_schema_documents_pay_by_and_event_reasons(client) -> None:
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    pay_by = schemas["Order"]["properties"]["pay_by"]
    assert (pay_by["type"], pay_by["format"], pay_by["nullable"]) == ("string", "date-time", True)
    assert "cancelled" in pay_by["description"]
    assert "payment_expired" in schemas["OrderEvent"]["properties"]["reason"]["description"]
    assert "payment_expired" in schemas["OrderError"]["properties"]["code"]["description"]
