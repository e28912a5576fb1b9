"""The dashboard page, the API and the socket: staff only, the same figures, bad input answered 400."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from django.utils import translation
from rest_framework.test import APIClient

from analytics.days import today
from orders import services as order_services
from orders.tests.factories import place
from orders.tests.sockets import HEADERS, application, connect

PAGE = "/staff/analytics/"
API = "/api/staff/analytics/"
SOCKET = "/ws/staff/analytics/"


def page_client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_page_is_for_staff_only(people: SimpleNamespace) -> None:
    anonymous = page_client().get(PAGE)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/account/login/")
    assert page_client(people.ana).get(PAGE).status_code == 403
    assert page_client(people.staff).get(PAGE).status_code == 200


def test_the_page_shows_the_figures_as_tables(people: SimpleNamespace, goods) -> None:
    order = place(people.ana, (goods.mug.pk, 2))
    order_services.order_pay(order=order, actor=people.ana)
    response = page_client(people.staff).get(PAGE)
    html = response.content.decode()
    assert '<td data-figure="orders">1</td>' in html
    assert '<td data-figure="revenue">17.00 EUR</td>' in html
    assert '<td data-figure="funnel.orders_paid">1</td>' in html
    assert "<td>Mug</td><td>2</td>" in html
    assert 'data-live-url="/ws/staff/analytics/"' in html
    # The history too, as tables inside <details> (no script needed): 120 minutes, 168 hours.
    assert html.count("<details") == 2
    assert html.count("<tr><td>") == 120 + 168 + 1 + 1  # the history, the top by units and by revenue
    assert "vendor/chart.js/chart.umd.min.js" in html
    assert "<script>" not in html
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_the_page_speaks_spanish(people: SimpleNamespace) -> None:
    client = page_client(people.staff)
    with translation.override("es"):
        html = client.get(PAGE, headers={"accept-language": "es"}).content.decode()
    assert "Analítica de la tienda" in html
    assert "Visitantes" in html


def test_a_bad_day_is_a_400_naming_it(people: SimpleNamespace) -> None:
    for bad in ("yesterday", "2026-13-01", "1999-01-01", "2026-1-1"):
        response = api_client(people.staff).get(API, {"day": bad})
        assert response.status_code == 400, bad
        assert list(response.json()["errors"]) == ["day"]
        assert "YYYY-MM-DD" in response.json()["errors"]["day"]
    page = page_client(people.staff).get(PAGE, {"day": "soon"})
    assert page.status_code == 400
    assert "YYYY-MM-DD" in page.content.decode()


def test_the_api_is_for_staff_and_answers_the_figures(people: SimpleNamespace, goods) -> None:
    assert api_client().get(API).status_code == 401
    assert api_client(people.ana).get(API).status_code == 403
    place(people.ana, (goods.teapot.pk, 1))
    answer = api_client(people.staff).get(API, {"day": today().isoformat()})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["day"], body["orders"], body["revenue"], body["units_sold"]) == (
        today().isoformat(),
        1,
        {"EUR": "30.00"},
        1,
    )
    assert len(body["per_minute"]) == 120
    assert len(body["per_hour"]) == 7 * 24


def test_the_api_is_in_the_schema(people: SimpleNamespace) -> None:
    schema = api_client().get("/api/schema/", {"format": "json"})
    operation = json.loads(schema.content)["paths"][API]["get"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["day"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


@pytest.mark.asyncio
@override_settings(ANALYTICS_PUSH_SECONDS=1)
async def test_the_socket_is_for_staff_and_sends_snapshots(people: SimpleNamespace, goods) -> None:
    anonymous = WebsocketCommunicator(application, SOCKET, headers=HEADERS)
    assert (await anonymous.connect())[0]
    assert await anonymous.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    shopper = await connect(people.ana, SOCKET)
    assert await shopper.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    staff = await connect(people.staff, SOCKET)
    first = await staff.receive_json_from(timeout=5)
    assert first["type"] == "analytics.snapshot"
    assert first["snapshot"]["orders"] == 0
    await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    later = await staff.receive_json_from(timeout=5)  # the next tick, not a push per order
    assert later["snapshot"]["orders"] == 1
    assert later["snapshot"]["revenue"] == {"EUR": "8.50"}
    await staff.disconnect()
