"""The catalog API (shop/api.py): filters, pagination, bad input, staff writes and the schema.

Each database test costs a flush (~0.3 s), so related assertions share a test.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from rest_framework.test import APIClient

from common.api import queries as common_queries
from shop import api, queries, services
from shop.models import Product
from shop.serializers import (
    ERROR_ATTRIBUTE_NAME,
    ERROR_ATTRIBUTE_VALUE,
    ERROR_ATTRIBUTES_COUNT,
    ERROR_CATEGORY_UNKNOWN,
    ERROR_CURRENCY,
    ERROR_IMAGE,
    ERROR_SKU_TAKEN,
    ERROR_SLUG_TAKEN,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/products/"
NO_SUCH_ID = "000000000000000000000000"


@pytest.fixture
def shop_catalog() -> SimpleNamespace:
    """Clothing > T-shirts, Books; four products on sale (created in this order) and one hidden."""
    clothing = services.category_create(name="Clothing", slug="clothing", position=1)
    shirts = services.category_create(name="T-shirts", slug="t-shirts", parent=clothing, position=2)
    books = services.category_create(name="Books", slug="books", position=3)
    red = services.product_create(
        category=shirts, name="Red tee", sku="TS-RED", price=Decimal("10.00"), stock=5,
        attributes={"colour": "red", "size": "M"}, images=["/static/red.jpg"], tags=["summer"],
    )  # fmt: skip
    blue = services.product_create(
        category=shirts, name="Blue tee", sku="TS-BLUE", price=Decimal("20.00"), stock=0,
        attributes={"colour": "blue", "size": "L"},
    )  # fmt: skip
    hoodie = services.product_create(
        category=clothing, name="Green hoodie", sku="CL-GREEN", price=Decimal("35.50"), stock=3,
        attributes={"colour": "green"},
    )  # fmt: skip
    book = services.product_create(
        category=books, name="Django handbook", sku="BK-1", price=Decimal("40.00"), stock=7,
        description="Learn Python web development.", attributes={"format": "paperback"},
    )  # fmt: skip
    hidden = services.product_create(
        category=shirts, name="Hidden tee", sku="TS-HIDDEN", price=Decimal("5.00"), stock=1, is_active=False
    )
    return SimpleNamespace(
        clothing=clothing, shirts=shirts, books=books, red=red, blue=blue, hoodie=hoodie, book=book, hidden=hidden
    )


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("staff@example.com", "pw", is_staff=True))
    return client


def names(client: APIClient, **params: str) -> list[str]:
    response = client.get(PRODUCTS, params)
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def new_product(**overrides: Any) -> dict[str, Any]:
    return {"category": "t-shirts", "name": "Wool socks", "sku": "SK-1", "price": "7.5", **overrides}


# --- Reads ------------------------------------------------------------------------------------


def test_list_filters_and_orders_like_the_pages(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    body = client.get(PRODUCTS).json()
    assert {key: body[key] for key in ("count", "page", "pages", "page_size", "next", "previous")} == {
        "count": 4, "page": 1, "pages": 1, "page_size": 24, "next": None, "previous": None,
    }  # fmt: skip
    assert [row["name"] for row in body["results"]] == ["Django handbook", "Green hoodie", "Blue tee", "Red tee"]
    # Cards show the badge, not the count (stock 7, 3, 0, 5): the count is on the detail.
    assert [(row["in_stock"], row["stock_left"]) for row in body["results"]] == [
        (True, None), (True, 3), (False, 0), (True, None),
    ]  # fmt: skip
    red = body["results"][-1]
    assert red == {
        "id": str(shop_catalog.red.pk), "name": "Red tee", "slug": "red-tee", "sku": "TS-RED", "price": "10.00",
        "currency": "EUR", "in_stock": True, "stock_left": None, "image": "/static/red.jpg", "tags": ["summer"],
        "attributes": {"colour": "red", "size": "M"},
        "category": {"id": str(shop_catalog.shirts.pk), "name": "T-shirts", "slug": "t-shirts"},
        "created_at": red["created_at"],
    }  # fmt: skip

    assert names(client, category="clothing", sort="name") == ["Blue tee", "Green hoodie", "Red tee"]
    assert names(client, category="t-shirts", sort="name") == ["Blue tee", "Red tee"]
    assert names(client, q="TEE", sort="name") == ["Blue tee", "Red tee"]
    assert names(client, q="python") == ["Django handbook"]  # description too
    assert names(client, min_price="15", max_price="35.50", sort="price") == ["Blue tee", "Green hoodie"]
    assert names(client, in_stock="1", category="t-shirts") == ["Red tee"]
    assert names(client, attr_colour="red") == ["Red tee"]
    assert names(client, attr_colour="blue", attr_size="L") == ["Blue tee"]
    assert names(client, attr_colour="") == names(client)  # an empty select means "any"
    assert names(client, sort="price") == ["Red tee", "Blue tee", "Green hoodie", "Django handbook"]
    assert names(client, sort="-price") == ["Django handbook", "Green hoodie", "Blue tee", "Red tee"]
    assert names(client, sort="name") == ["Blue tee", "Django handbook", "Green hoodie", "Red tee"]
    # Query operators and regex syntax are plain text: nothing matches, nothing breaks.
    for text in ('{"$gt": ""}', ".*", "(", "[", "\\", "$where"):
        assert names(client, q=text) == [], text
    assert client.head(PRODUCTS).status_code == 200
    assert client.options(PRODUCTS).status_code == 200
    assert client.head(f"{PRODUCTS}{shop_catalog.red.pk}/").status_code == 200


def test_pagination_links_keep_the_query(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    first = client.get(PRODUCTS, {"sort": "price", "page_size": "2", "attr_colour": ""}).json()
    assert (first["count"], first["pages"], first["previous"]) == (4, 2, None)
    assert [row["name"] for row in first["results"]] == ["Red tee", "Blue tee"]
    assert first["next"].startswith("http://testserver/api/products/?")
    assert query_of(first["next"]) == {"sort": ["price"], "page_size": ["2"], "page": ["2"]}

    second = client.get(first["next"]).json()
    assert [row["name"] for row in second["results"]] == ["Green hoodie", "Django handbook"]
    assert second["next"] is None
    assert query_of(second["previous"]) == {"sort": ["price"], "page_size": ["2"]}  # page 1 has no page=

    beyond = client.get(PRODUCTS, {"page_size": "2", "page": "9"})
    assert beyond.status_code == 200
    assert (beyond.json()["results"], beyond.json()["next"]) == ([], None)
    assert query_of(beyond.json()["previous"]) == {"page_size": ["2"], "page": ["2"]}


def test_bad_query_parameters_answer_400_with_the_message(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    cases = [
        ({"page": "-1"}, "page", common_queries.ERROR_PAGE),
        ({"page": "abc"}, "page", common_queries.ERROR_PAGE),
        ({"page": "10001"}, "page", common_queries.ERROR_PAGE),
        ({"page_size": "0"}, "page_size", common_queries.ERROR_PAGE_SIZE),
        ({"page_size": "101"}, "page_size", common_queries.ERROR_PAGE_SIZE),
        ({"min_price": "abc"}, "min_price", queries.ERROR_PRICE),
        ({"max_price": "NaN"}, "max_price", queries.ERROR_PRICE),
        ({"min_price": "9", "max_price": "2"}, "min_price", queries.ERROR_PRICE_RANGE),
        ({"sort": "bogus"}, "sort", queries.ERROR_SORT),
        ({"sort": "price;drop"}, "sort", queries.ERROR_SORT),
        ({"attr_colour[$gt]": "x"}, "attr_colour[$gt]", queries.ERROR_ATTRIBUTE),
        ({"attr_Colour": "x"}, "attr_Colour", queries.ERROR_ATTRIBUTE),
        ({"q": "x" * 10_000}, "q", queries.ERROR_SEARCH_LENGTH),
        ({"in_stock": "maybe"}, "in_stock", queries.ERROR_IN_STOCK),
        ({"category": "{$ne: 1}"}, "category", queries.ERROR_CATEGORY),
    ]
    for params, field, message in cases:
        response = client.get(PRODUCTS, params)
        assert response.status_code == 400, params
        assert response.json()["errors"][field] == str(message), params
    too_many = client.get(PRODUCTS, {f"attr_a{n}": "x" for n in range(6)})
    assert too_many.json() == {"errors": {"attributes": str(queries.ERROR_TOO_MANY_ATTRIBUTES)}}

    unknown = client.get(PRODUCTS, {"category": "no-such-category"})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": str(api.ERROR_CATEGORY_NOT_FOUND), "code": "not_found"}


def test_detail_by_id_and_slug(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    by_id = client.get(f"{PRODUCTS}{shop_catalog.red.pk}/")
    assert by_id.status_code == 200
    detail = by_id.json()
    assert (detail["name"], detail["price"], detail["images"], detail["description"]) == (
        "Red tee", "10.00", ["/static/red.jpg"], "",
    )  # fmt: skip
    assert (detail["stock"], detail["in_stock"], detail["stock_left"]) == (5, True, None)
    assert detail["breadcrumbs"] == [{"name": "Clothing", "slug": "clothing"}, {"name": "T-shirts", "slug": "t-shirts"}]
    assert "is_active" not in detail
    assert client.get(f"{PRODUCTS}by-slug/red-tee/").json() == detail

    not_found_by_id = [NO_SUCH_ID, "abc", str(shop_catalog.hidden.pk), "0" * 25, "%24gt"]
    for product_id in not_found_by_id:
        response = client.get(f"{PRODUCTS}{product_id}/")
        assert response.status_code == 404, product_id
        assert response.json() == {"detail": str(api.ERROR_PRODUCT_NOT_FOUND), "code": "not_found"}
    for slug in ["no-such-product", "hidden-tee", "bad%20slug", "x" * 300]:
        response = client.get(f"{PRODUCTS}by-slug/{slug}/")
        assert response.status_code == 404, slug
        assert response.json() == {"detail": str(api.ERROR_SLUG_NOT_FOUND), "code": "not_found"}


def test_category_tree(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    tree = client.get("/api/categories/").json()
    assert [node["slug"] for node in tree] == ["clothing", "books"]
    clothing = tree[0]
    assert (clothing["id"], clothing["parent_id"]) == (str(shop_catalog.clothing.pk), None)
    assert [child["slug"] for child in clothing["children"]] == ["t-shirts"]
    assert clothing["children"][0]["parent_id"] == str(shop_catalog.clothing.pk)
    assert clothing["children"][0]["children"] == []


# --- Staff writes: each one is visible in the very next read (the cache was warmed first) ----------


def test_create_is_visible_at_once(client: APIClient, staff_client: APIClient, shop_catalog: SimpleNamespace) -> None:
    assert client.get(PRODUCTS).json()["count"] == 4
    assert client.get(f"{PRODUCTS}by-slug/wool-socks/").status_code == 404
    payload = new_product(
        currency="GBP", stock=3, images=["https://cdn.example.com/socks.jpg"], tags=["winter"],
        attributes={"colour": "grey", "weight_g": 80, "ratio": 0.5}, description="Warm.",
    )  # fmt: skip
    response = staff_client.post(PRODUCTS, payload, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["slug"], created["price"], created["currency"], created["is_active"]) == (
        "wool-socks", "7.50", "GBP", True,
    )  # fmt: skip
    assert created["attributes"] == {"colour": "grey", "weight_g": 80, "ratio": 0.5}

    assert client.get(PRODUCTS).json()["count"] == 5
    assert names(client, attr_colour="grey") == ["Wool socks"]
    assert client.get(f"{PRODUCTS}by-slug/wool-socks/").json()["id"] == created["id"]
    public = client.get(f"{PRODUCTS}{created['id']}/").json()
    assert public == {key: value for key, value in created.items() if key != "is_active"}


def test_update_is_visible_at_once(client: APIClient, staff_client: APIClient, shop_catalog: SimpleNamespace) -> None:
    url = f"{PRODUCTS}{shop_catalog.red.pk}/"
    assert client.get(url).json()["price"] == "10.00"
    assert names(client, sort="price")[0] == "Red tee"
    assert client.get("/api/products/by-slug/red-tee/").status_code == 200

    response = staff_client.patch(url, {"price": "99.99", "name": "Red tee II"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["price"], response.json()["sku"]) == ("99.99", "TS-RED")  # the rest is untouched
    assert client.get(url).json()["price"] == "99.99"
    assert names(client, sort="price")[-1] == "Red tee II"

    moved = staff_client.patch(url, {"category": "books", "slug": "red-book", "sku": "TS-RED"}, format="json")
    assert moved.status_code == 200, moved.content  # keeping its own sku is not a duplicate
    assert client.get(url).json()["breadcrumbs"] == [{"name": "Books", "slug": "books"}]
    assert client.get("/api/products/by-slug/red-tee/").status_code == 404
    assert "Red tee II" in names(client, category="books")

    replaced = staff_client.put(url, new_product(sku="TS-RED", name="Plain tee", price="12"), format="json")
    assert replaced.status_code == 200, replaced.content
    plain = replaced.json()
    assert (plain["slug"], plain["attributes"], plain["tags"], plain["stock"]) == ("red-book", {}, [], 0)
    assert client.get(url).json()["name"] == "Plain tee"
    assert staff_client.put(url, {"price": "1"}, format="json").status_code == 400  # PUT needs every field

    hidden = staff_client.patch(url, {"is_active": False}, format="json")
    assert (hidden.status_code, hidden.json()["is_active"], hidden.json()["name"]) == (200, False, "Plain tee")
    assert client.get(url).status_code == 404
    assert "Plain tee" not in names(client)
    shown = staff_client.patch(url, {"is_active": True}, format="json")
    assert shown.json()["is_active"] is True
    assert client.get(url).status_code == 200


def test_delete_is_visible_at_once(client: APIClient, staff_client: APIClient, shop_catalog: SimpleNamespace) -> None:
    url = f"{PRODUCTS}{shop_catalog.blue.pk}/"
    assert client.get(url).status_code == 200
    assert "Blue tee" in names(client)
    response = staff_client.delete(url)
    assert (response.status_code, response.content) == (204, b"")
    assert client.get(url).status_code == 404
    assert client.get("/api/products/by-slug/blue-tee/").status_code == 404
    assert "Blue tee" not in names(client)
    assert staff_client.delete(url).status_code == 404
    not_found = {"detail": str(api.ERROR_PRODUCT_NOT_FOUND), "code": "not_found"}
    assert staff_client.delete(f"{PRODUCTS}abc/").json() == not_found
    # The hidden product is not public, but staff can still change or remove it.
    assert staff_client.delete(f"{PRODUCTS}{shop_catalog.hidden.pk}/").status_code == 204


def test_writes_need_staff(client: APIClient, shop_catalog: SimpleNamespace) -> None:
    url = f"{PRODUCTS}{shop_catalog.red.pk}/"
    writes = [
        ("post", PRODUCTS, new_product()),
        ("put", url, new_product()),
        ("patch", url, {"price": "1"}),
        ("delete", url, None),
        ("patch", f"{PRODUCTS}abc/", {"price": "1"}),  # permissions come before the lookup
    ]
    for method, target, payload in writes:
        response = getattr(client, method)(target, payload, format="json")
        assert response.status_code == 401, (method, target)
        assert response["WWW-Authenticate"].startswith("Bearer")
    client.force_authenticate(User.objects.create_user("shopper@example.com", "pw"))
    for method, target, payload in writes:
        assert getattr(client, method)(target, payload, format="json").status_code == 403, (method, target)
    assert client.get(url).status_code == 200  # reads stay public when logged in
    assert Product.objects.count() == 5
    assert Product.objects.get(pk=shop_catalog.red.pk).price == Decimal("10.00")


def test_invalid_writes_answer_400_naming_the_field(staff_client: APIClient, shop_catalog: SimpleNamespace) -> None:
    def errors(payload: dict[str, Any], url: str = PRODUCTS, method: str = "post") -> dict[str, Any]:
        response = getattr(staff_client, method)(url, payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        return response.json()

    assert errors(new_product(sku="TS-RED")) == {"sku": [str(ERROR_SKU_TAKEN)]}
    assert errors(new_product(slug="red-tee")) == {"slug": [str(ERROR_SLUG_TAKEN)]}
    red_url = f"{PRODUCTS}{shop_catalog.red.pk}/"
    assert errors({"sku": "BK-1"}, red_url, "patch") == {"sku": [str(ERROR_SKU_TAKEN)]}
    assert errors(new_product(category="nope")) == {"category": [str(ERROR_CATEGORY_UNKNOWN).format(value="nope")]}
    assert errors(new_product(currency="eur")) == {"currency": [str(ERROR_CURRENCY)]}
    assert errors(new_product(images=["javascript:alert(1)"]))["images"] == {"0": [str(ERROR_IMAGE)]}
    assert errors(new_product(images=["ok.jpg", "//evil.example/x.jpg"]))["images"].keys() == {"0", "1"}
    assert errors(new_product(attributes={"Bad Name": "x"})) == {"attributes": [str(ERROR_ATTRIBUTE_NAME)]}
    for value in [True, None, {"$gt": 1}, [1], "", "x" * 61, 2**64]:
        assert errors(new_product(attributes={"colour": value})) == {"attributes": [str(ERROR_ATTRIBUTE_VALUE)]}
    too_many = {f"a{n}": "x" for n in range(31)}
    assert errors(new_product(attributes=too_many)) == {"attributes": [str(ERROR_ATTRIBUTES_COUNT)]}
    assert errors(new_product(attributes=["colour"])).keys() == {"attributes"}
    for price in ["-1", "1.234", "abc", "NaN", "100000000"]:
        assert errors(new_product(price=price)).keys() == {"price"}, price
    assert errors(new_product(stock=-1)).keys() == {"stock"}
    assert errors(new_product(tags=["x" * 41])).keys() == {"tags"}
    assert errors({}).keys() == {"category", "name", "sku", "price"}
    not_json = staff_client.post(PRODUCTS, "{", content_type="application/json")
    assert not_json.status_code == 400
    assert "detail" in not_json.json()
    assert Product.objects.count() == 5


def test_database_rejections_become_400s(
    staff_client: APIClient, shop_catalog: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A concurrent write can take the sku between the check and the insert: the unique index decides.
    monkeypatch.setattr("rest_framework.validators.UniqueValidator.__call__", lambda *args: None)
    monkeypatch.setattr(Product, "validate_unique", lambda *args, **kwargs: None)
    response = staff_client.post(PRODUCTS, new_product(sku="TS-RED"), format="json")
    assert (response.status_code, response.json()) == (400, {"sku": [str(ERROR_SKU_TAKEN)]})
    url = f"{PRODUCTS}{shop_catalog.red.pk}/"
    response = staff_client.patch(url, {"slug": "blue-tee"}, format="json")
    assert (response.status_code, response.json()) == (400, {"slug": [str(ERROR_SLUG_TAKEN)]})
    assert Product.objects.get(pk=shop_catalog.red.pk).slug == "red-tee"

    def refuse(**kwargs: Any) -> Product:
        raise DjangoValidationError({"__all__": ["Not this one."], "price": ["Too dear."]})

    monkeypatch.setattr(services, "product_create", refuse)
    response = staff_client.post(PRODUCTS, new_product(), format="json")
    assert (response.status_code, response.json()) == (
        400, {"non_field_errors": ["Not this one."], "price": ["Too dear."]},
    )  # fmt: skip


# --- OpenAPI ------------------------------------------------------------------------------------


def test_schema_lists_the_catalog(client: APIClient) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert {"/api/products/", "/api/products/{id}/", "/api/products/by-slug/{slug}/", "/api/categories/"} <= set(paths)
    assert set(paths["/api/products/"]) == {"get", "post"}
    assert set(paths["/api/products/{id}/"]) == {"get", "put", "patch", "delete"}
    listing = paths["/api/products/"]["get"]
    assert {"category", "q", "min_price", "max_price", "in_stock", "sort", "page", "page_size"} <= {
        parameter["name"] for parameter in listing["parameters"]
    }
    assert "attr_<name>" in listing["description"]
    assert listing["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/QueryError")
    as_json = client.get("/api/schema/", {"format": "json"})
    assert json.loads(as_json.content)["paths"].keys() == paths.keys()


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/products/{id}/" in yaml.safe_load(target.read_text())["paths"]
