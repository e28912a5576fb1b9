"""Oversized and malicious request bodies over real HTTP (uvicorn): a clear 400/413, never a 500.

config/limits.py caps bodies at DATA_UPLOAD_MAX_MEMORY_SIZE before anything buffers them;
config/parsers.py turns JSON nested too deeply for Python into a 400.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace

import httpx
import pytest
from django.conf import settings
from django.test import Client

from config.limits import RequestBodyLimit
from config.parsers import ERROR_JSON_TOO_DEEP
from orders.api import ERROR_TOO_MANY_LINES
from orders.models import Order
from orders.serializers import CartLineInputSerializer
from tests.security.helpers import ADDRESS, Server, bearer

MB = 1024 * 1024


def order_body(goods: SimpleNamespace, *, padding: int) -> bytes:
    lines = [{"product_id": str(goods.mug.pk), "quantity": 1}]
    return json.dumps({"lines": lines, "address": {**ADDRESS, "line2": "x" * padding}}).encode()


def test_the_limit_is_one_mebibyte() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == MB


def test_a_5_mb_json_post_to_the_api_is_a_413_with_a_json_message(
    server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    body = order_body(goods, padding=5 * MB)
    headers = {**bearer(people.ana), "Content-Type": "application/json"}
    response = httpx.post(f"{server.base_url}/api/orders/", content=body, headers=headers, timeout=30)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    message = "The request is too large: send at most 1.0\xa0MB."
    assert response.json() == {"detail": message, "code": "request_too_large"}
    assert response.headers["connection"] == "close"
    assert not Order.objects.exists()


def test_a_body_just_under_the_limit_reaches_the_api(
    server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    body = order_body(goods, padding=MB - 1000)
    assert len(body) <= MB
    headers = {**bearer(people.ana), "Content-Type": "application/json"}
    response = httpx.post(f"{server.base_url}/api/orders/", content=body, headers=headers, timeout=30)
    assert response.status_code == 400  # the serializer's answer: line2 is at most 200 characters
    assert "line2" in response.json()["address"]


def test_a_chunked_body_over_the_limit_is_cut_off_while_reading(
    server: Server, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(40):  # 40 x 64 KiB = 2.5 MiB, with no Content-Length
            sent += 1
            yield b" " * 65536

    headers = {**bearer(people.ana), "Content-Type": "application/json"}
    response = httpx.post(f"{server.base_url}/api/orders/", content=chunks(), headers=headers, timeout=30)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_an_over_long_list_of_order_lines_is_refused_before_checking_each_line(
    people: SimpleNamespace, goods: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[object] = []
    check_line = CartLineInputSerializer.run_validation

    def counting(self: CartLineInputSerializer, data: object) -> object:
        checked.append(data)
        return check_line(self, data)

    monkeypatch.setattr(CartLineInputSerializer, "run_validation", counting)
    line = {"product_id": str(goods.mug.pk), "quantity": 1}
    body = {"lines": [line] * 17_000, "address": ADDRESS}  # just under 1 MB
    response = Client(headers=bearer(people.ana)).post("/api/orders/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"lines": [str(ERROR_TOO_MANY_LINES)]}
    assert checked == []
    assert (
        Client(headers=bearer(people.ana))
        .post("/api/orders/", {"lines": [line], "address": ADDRESS}, content_type="application/json")
        .status_code
        == 201
    )
    assert len(checked) == 1


def test_a_5_mb_form_post_gets_the_413_page_in_the_visitors_language(server: Server, transactional_db) -> None:
    body = b"email=a%40example.com&password=" + b"x" * (5 * MB)
    response = httpx.post(
        f"{server.base_url}/account/login/",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "es"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "La petición es demasiado grande: envía como máximo 1,0\xa0MB." in response.text


def test_deeply_nested_json_is_a_400_not_a_500(server: Server, transactional_db) -> None:
    body = "[" * 10_000 + "]" * 10_000  # 20 KB; Python's json raises RecursionError on it
    response = httpx.post(
        f"{server.base_url}/api/auth/token/", content=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json() == {"detail": str(ERROR_JSON_TOO_DEEP), "code": "parse_error"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"email": "a@example.com", "password": "x"', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"1" * 5000, "application/json"),  # an integer past Python's 4,300-digit conversion limit
        (b'{"email": "a@example.com", "password": "x"}', "text/plain"),
        (b"email=a@example.com&password=x", "application/x-www-form-urlencoded"),
        (b'{"email": NaN, "password": Infinity}', "application/json"),
    ],
)
def test_malformed_api_bodies_are_4xx_json(server: Server, transactional_db, body: bytes, content_type: str) -> None:
    response = httpx.post(
        f"{server.base_url}/api/auth/token/", content=body, headers={"Content-Type": content_type}, timeout=30
    )
    assert response.status_code in (400, 415), response.text
    assert "detail" in response.json() or response.json()


@pytest.mark.asyncio
async def test_a_client_that_hangs_up_mid_body_reaches_django_as_a_disconnect() -> None:
    seen: list[dict] = []

    async def app(scope: dict, receive: Callable[[], Awaitable[dict]], send: object) -> None:
        while (message := await receive())["type"] == "http.request":
            seen.append(message)
        seen.append(message)

    messages = iter([{"type": "http.request", "body": b"x" * 10, "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(messages)

    await RequestBodyLimit(app, max_bytes=100)({"type": "http", "headers": []}, receive, None)
    assert seen == [{"type": "http.request", "body": b"x" * 10, "more_body": True}, {"type": "http.disconnect"}]
