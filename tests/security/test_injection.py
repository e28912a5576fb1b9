"""NoSQL-operator and lookup injection in query parameters and JSON bodies.

Every hostile input gets a clear 400 or is ignored: never a 500, and never a wider query (the
result set is compared with the plain query's). Django's test client: the HTTP stack is not
what is under test here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from orders.models import Order
from orders.tests.factories import place
from shop.models import Product
from tests.security.helpers import ADDRESS, bearer

ALL_ON_SALE = 4  # the catalog fixture's products


def product_count(client: Client, query: str) -> tuple[int, int | None]:
    response = client.get(f"/api/products/?{query}")
    assert response.status_code in (200, 400), (query, response.status_code)
    return response.status_code, response.json().get("count")


# Query parameters on the product list: (query, expected status, expected count when 200).
PRODUCT_QUERIES = [
    ("min_price[$gt]=", 200, ALL_ON_SALE),  # not a parameter we know: ignored
    ("max_price[$lt]=0", 200, ALL_ON_SALE),
    ("in_stock[$ne]=1", 200, ALL_ON_SALE),
    ("category__slug__regex=.*", 200, ALL_ON_SALE),
    ("category[$ne]=x", 200, ALL_ON_SALE),
    ("price__gte=0&is_active=0&is_active__in=0,1", 200, ALL_ON_SALE),  # off-sale products stay hidden
    ("ordering=-password", 200, ALL_ON_SALE),
    ("page[$gt]=1", 200, ALL_ON_SALE),
    ('q={"$gt": ""}', 200, 0),  # searched as text
    ("q=.*", 200, 0),  # not a regular expression
    ("q=^", 200, 0),
    ("q=%5C", 200, 0),  # a lone backslash
    ("q=(", 200, 0),
    ("q=[a-z]", 200, 0),
    ("q=(a%2B)%2B$", 200, 0),  # (a+)+$: would backtrack if it were a regex
    ("q=$where", 200, 0),
    ("q=' || '1'=='1", 200, 0),
    ("q=e", 200, ALL_ON_SALE),  # a plain search still works
    ('category={"$ne": null}', 400, None),
    ("category=.*", 400, None),
    ("sort=-password", 400, None),
    ('sort={"$natural": 1}', 400, None),
    ("sort=price,-password", 400, None),
    ('attr_colour={"$ne": "x"}', 200, 0),  # matched as a string
    ("attr_colour[$ne]=white", 400, None),
    ("attr_$where=1", 400, None),
    ("attr___proto__=1", 400, None),
    ("attr_colour.size=M", 400, None),
    ("min_price=NaN", 400, None),
    ("min_price=Infinity", 400, None),
    ("max_price=1e999", 400, None),
    ('min_price={"$gt": 0}', 400, None),
    ("page=-1", 400, None),
    ("page_size=100000", 400, None),
    ("in_stock=maybe", 400, None),
    ("q=" + "x" * 201, 400, None),
]


def test_product_list_query_injection(client: Client, catalog: SimpleNamespace) -> None:
    # One test for every query: each database test costs a flush.
    assert product_count(client, "") == (200, ALL_ON_SALE)
    answers = {query: product_count(client, query) for query, _, _ in PRODUCT_QUERIES}
    assert answers == {query: (status, count) for query, status, count in PRODUCT_QUERIES}
    for path in (
        "/api/products/%7B%22%24gt%22%3A%22%22%7D/",  # {"$gt":""} as an id
        "/api/products/by-slug/.*/",
        "/api/products/by-slug/%7B%22%24ne%22%3Anull%7D/",
        "/api/products/by-slug/linen-tee%00/",
    ):
        response = client.get(path)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), path


SHOP_PAGE_QUERIES = [
    'q={"$gt": ""}', "q=.*", "q=%5C", "category__slug__regex=.*", "sort=-password", "min_price[$gt]=", "q=(a%2B)%2B$",
]  # fmt: skip


def test_shop_pages_refuse_or_ignore_the_same_input(client: Client, catalog: SimpleNamespace) -> None:
    plain = client.get("/c/clothing/")
    assert plain.status_code == 200
    cards = plain.content.decode().count('class="card"')
    assert cards == 3
    for query in SHOP_PAGE_QUERIES:
        for path in (f"/search/?{query}", f"/c/clothing/?{query}"):
            response = client.get(path)
            assert response.status_code in (200, 400), path
            # Never more products than the unfiltered listing shows.
            assert response.content.decode().count('class="card"') <= cards, path


def test_order_list_filters_are_not_operators(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    place(people.ana, (goods.mug.pk, 1))
    place(people.bob, (goods.mug.pk, 1))
    staff, bob = Client(headers=bearer(people.staff)), Client(headers=bearer(people.bob))
    assert staff.get("/api/orders/").json()["count"] == 2
    for query, status, count in [
        ("status[$ne]=x", 200, 2),
        ('status={"$ne": "pending"}', 400, None),
        ("email[$regex]=.*", 200, 2),  # an unknown parameter: the unfiltered list, no wider
        ('email={"$regex": ".*"}', 200, 0),  # an exact e-mail that nobody has
        ("email=.*", 200, 0),
        ("page_size=0", 400, None),
    ]:
        response = staff.get(f"/api/orders/?{query}")
        assert (response.status_code, response.json().get("count")) == (status, count), query
    # A shopper's e-mail filter is ignored: still only their own order.
    for query in ('email={"$ne": ""}', "email=ana@example.com", "user=*"):
        assert bob.get(f"/api/orders/?{query}").json()["count"] == 1, query


OPERATOR = {"$gt": ""}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/token/", {"email": OPERATOR, "password": OPERATOR}),
        ("/api/auth/token/", {"email": "ana@example.com", "password": {"$ne": None}}),
        ("/api/auth/token/", {"email": ["ana@example.com"], "password": ["x"]}),
        ("/api/auth/token/", {"email": {"$regex": ".*"}, "password": "x"}),
        ("/api/auth/token/refresh/", {"refresh": OPERATOR}),
        ("/api/auth/token/verify/", {"token": OPERATOR}),
    ],
)
def test_auth_bodies_with_operators_are_400(people: SimpleNamespace, path: str, body: dict[str, Any]) -> None:
    response = Client().post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "access" not in response.json()


def order_bodies(product_id: str) -> list[dict[str, Any]]:
    line = {"product_id": product_id, "quantity": 1}
    return [
        {"lines": [{"product_id": OPERATOR, "quantity": 1}], "address": ADDRESS},
        {"lines": [{"product_id": {"$in": [product_id]}, "quantity": 1}], "address": ADDRESS},
        {"lines": [{**line, "quantity": {"$gt": 0}}], "address": ADDRESS},
        {"lines": [{**line, "quantity": "1e3"}], "address": ADDRESS},
        {"lines": [{**line, "quantity": True}], "address": ADDRESS},
        {"lines": [{**line, "quantity": -5}], "address": ADDRESS},
        {"lines": OPERATOR, "address": ADDRESS},
        {"lines": [line], "address": {**ADDRESS, "full_name": OPERATOR}},
        {"lines": [line], "address": {**ADDRESS, "country": {"$regex": "."}}},
        {"lines": [line], "address": OPERATOR},
        {"lines": [line], "address": ADDRESS, "user": OPERATOR},  # unknown keys are ignored, not stored
    ]


def test_order_bodies_with_operators_are_400_and_take_nothing(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    ana = Client(headers=bearer(people.ana))
    bodies = order_bodies(str(goods.mug.pk))
    for body in bodies[:-1]:
        response = ana.post("/api/orders/", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
    assert not Order.objects.exists()
    assert Product.objects.get(pk=goods.mug.pk).stock == 40
    placed = ana.post("/api/orders/", bodies[-1], content_type="application/json")
    assert placed.status_code == 201
    assert Order.objects.get().user_id == people.ana.pk


def test_status_changes_with_operators_are_400(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    staff = Client(headers=bearer(people.staff))
    for body in ({"status": {"$ne": "cancelled"}}, {"status": ["paid"]}, {"status": {"$in": ["paid", "shipped"]}}):
        response = staff.post(f"/api/orders/{order.pk}/status/", body, content_type="application/json")
        assert response.status_code == 400, body
    # Unknown keys are ignored: the timeline's seq is the server's, whatever the body says.
    changed = staff.post(
        f"/api/orders/{order.pk}/status/", {"status": "paid", "seq": OPERATOR}, content_type="application/json"
    )
    assert changed.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.seq) == ("paid", 2)


def test_staff_product_writes_with_operators_are_400(people: SimpleNamespace, goods: SimpleNamespace) -> None:
    staff = Client(headers=bearer(people.staff))
    base = {"category": "mugs", "name": "Cup", "sku": "CUP-1", "price": "3.00"}
    for change in (
        {"category": OPERATOR},
        {"price": {"$gt": 0}},
        {"stock": {"$inc": 5}},
        {"attributes": {"$where": "1"}},
        {"attributes": {"colour": {"$ne": 1}}},
        {"attributes": {"a.b": "x"}},
        {"images": ["javascript:alert(1)"]},
        {"sku": OPERATOR},
    ):
        response = staff.post("/api/products/", {**base, **change}, content_type="application/json")
        assert response.status_code == 400, (change, response.content)
    assert not Product.objects.filter(sku="CUP-1").exists()
    patch = staff.patch(f"/api/products/{goods.mug.pk}/", {"stock": {"$inc": 5}}, content_type="application/json")
    assert patch.status_code == 400
    assert Product.objects.get(pk=goods.mug.pk).stock == 40


def test_site_forms_take_no_operators(client: Client, people: SimpleNamespace, goods: SimpleNamespace) -> None:
    people.ana.set_password("ana-password-1")
    people.ana.save()
    for data in (
        {"username[$gt]": "", "password[$gt]": ""},
        {"username": "ana@example.com", "password[$ne]": "x"},
        {"username": '{"$gt": ""}', "password": '{"$gt": ""}'},
        {"username": "ana@example.com", "password": '{"$ne": null}'},
    ):
        response = client.post("/account/login/", data)
        assert response.status_code in (200, 400), data
        assert "_auth_user_id" not in client.session
    for data in ({"product_id": '{"$gt": ""}', "quantity": "1"}, {"product_id[$gt]": "", "quantity[$gt]": "0"}):
        assert client.post("/orders/cart/add/", data).status_code == 400
    assert "cart" not in client.session


def test_signup_rejects_operator_shaped_emails(client: Client, transactional_db) -> None:
    password = "a-long-enough-password-1"
    body = {"email": '{"$gt": ""}', "full_name": "X", "password1": password, "password2": password}
    assert client.post("/account/signup/", body).status_code in (200, 400)
    assert not User.objects.exists()
