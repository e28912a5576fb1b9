"""Page views, visitors, carts and checkouts: counted in memory, written to Redis by the flush."""

from __future__ import annotations

from types import SimpleNamespace

from django.test import Client
from django_redis import get_redis_connection

from analytics.selectors import analytics_snapshot
from analytics.tests.helpers import redis_round_trips
from analytics.traffic import traffic


def test_page_views_visitors_carts_and_checkouts_are_counted(people: SimpleNamespace, goods) -> None:
    traffic.flush()  # what earlier tests left in this process's buffer, then none of it
    get_redis_connection("default").flushdb()
    browser = Client(HTTP_USER_AGENT="Firefox", REMOTE_ADDR="10.0.0.1")
    other = Client(HTTP_USER_AGENT="Chromium", REMOTE_ADDR="10.0.0.2")
    for path in ("/", "/c/mugs/", f"/p/{goods.mug.slug}/"):
        assert browser.get(path).status_code == 200
    assert other.get("/").status_code == 200
    assert other.get("/livez").status_code == 200  # not a page
    assert other.get("/api/categories/").status_code == 200  # not a page
    other.force_login(people.ana)
    other.post("/orders/cart/add/", {"product_id": str(goods.mug.pk), "quantity": "1"})
    assert other.get("/orders/checkout/").status_code == 200
    with redis_round_trips() as trips:
        written = traffic.flush()
    assert (written, trips.count) == (5, 1)  # 5 page views, one MULTI/EXEC round trip
    figures = analytics_snapshot()
    assert (figures["page_views"], figures["visitors_today"], figures["visitors_now"]) == (5, 2, 2)
    assert figures["funnel"]["carts_active"] == 1
    assert figures["funnel"]["checkouts_started"] == 1


def test_a_page_view_adds_no_redis_round_trip_to_its_request(goods) -> None:
    client = Client()
    client.get("/c/mugs/")  # cached from now on
    traffic.flush()
    with redis_round_trips() as trips:
        assert client.get("/c/mugs/").status_code == 200
    assert trips.count == 1  # the cached page's own read; the view is counted in memory
    assert traffic.flush() == 1
