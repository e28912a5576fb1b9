"""Stock in cached lists (shop/availability.py, decision 0005): a stock movement refreshes the
product's own answers every time, and the cached lists (pages whole or their body, API cards)
only when the badge or the in-stock filter changes; never a wrong badge, even under races."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from shop import cache, services
from shop.availability import LOW_STOCK_THRESHOLD, stock_change_shows_in_lists, stock_left
from shop.selectors import PAGES, PRODUCTS
from tests.concurrency import all_at_once

User = get_user_model()

pytestmark = pytest.mark.django_db

LISTING = "/c/mugs/"
API_LIST = "/api/products/"
_keys = itertools.count()
# A racy decision fails only when the updates happen to interleave badly: give them a few chances.
ROUNDS = 6


@pytest.fixture
def mugs(db) -> SimpleNamespace:
    """One category whose products sit at the interesting stock levels."""
    category = services.category_create(name="Mugs", slug="mugs")

    def mug(name: str, stock: int, price: str) -> Any:
        sku = name.upper().replace(" ", "-")
        return services.product_create(category=category, name=name, sku=sku, price=Decimal(price), stock=stock)

    return SimpleNamespace(
        plenty=mug("Plenty mug", 50, "5"),
        five=mug("Five mug", 5, "6"),
        four=mug("Four mug", 4, "7"),
        last=mug("Last mug", 1, "8"),
        gone=mug("Gone mug", 0, "9"),
    )


def counters() -> dict[str, dict[str, int | float]]:
    return cache.stats([PAGES, PRODUCTS, "product"])


def badge(html: str, name: str) -> str:
    """The stock badge of the card titled ``name`` on a listing page."""
    found = re.search(rf'card-title">{re.escape(name)}</h3>.*?<p class="stock stock-\w+">([^<]*)</p>', html, re.S)
    assert found, f"no card for {name}"
    return found.group(1)


def api_card(client: Client, name: str, **params: str) -> dict[str, Any] | None:
    """The API list card of ``name`` among the mugs (None when the filters leave it out)."""
    rows = client.get(API_LIST, {"category": "mugs", **params}).json()["results"]
    return next((row for row in rows if row["name"] == name), None)


def take(product: Any, quantity: int) -> bool:
    return services.product_stock_take(product_id=product.pk, quantity=quantity, key=f"test:{next(_keys)}:take")


def give_back(product: Any, quantity: int) -> bool:
    return services.product_stock_return(product_id=product.pk, quantity=quantity, key=f"test:{next(_keys)}:return")


def warm(client: Client, staff: Client) -> None:
    """Cache the listing as an anonymous page, as a body for a visitor with a session, and the API lists."""
    for _ in range(2):
        client.get(LISTING)
        staff.get(LISTING)
        client.get(API_LIST, {"category": "mugs"})
        client.get(API_LIST, {"category": "mugs", "in_stock": "1"})


@pytest.fixture
def staff(mugs: SimpleNamespace) -> Client:
    visitor = Client()
    visitor.force_login(User.objects.create_user("clerk@example.com", "x", is_staff=True))
    return visitor


def listed(stock: int) -> tuple[bool, int | None]:
    """What a list shows of a count: the in-stock filter's answer and the badge's number."""
    return stock > 0, stock_left(stock)


def test_lists_are_refreshed_exactly_when_what_they_show_changes() -> None:
    assert [stock_left(n) for n in range(LOW_STOCK_THRESHOLD + 3)] == [0, 1, 2, 3, None, None]
    examples = {(50, 48): False, (5, 4): False, (4, 3): True, (3, 2): True, (1, 0): True, (0, 2): True}
    assert {pair: stock_change_shows_in_lists(old=pair[0], new=pair[1]) for pair in examples} == examples
    for old, new in itertools.product(range(12), repeat=2):
        assert stock_change_shows_in_lists(old=old, new=new) is (listed(old) != listed(new)), (old, new)


def test_take_above_the_threshold_keeps_cached_lists_and_refreshes_the_product(
    client: Client, staff: Client, mugs: SimpleNamespace
) -> None:
    detail_url = f"{API_LIST}{mugs.plenty.pk}/"
    assert client.get(detail_url).json()["stock"] == 50
    warm(client, staff)
    page = client.get(LISTING).content
    before = counters()

    assert take(mugs.plenty, 2)  # 50 -> 48: "In stock" before and after

    assert client.get(LISTING).content == page
    assert badge(staff.get(LISTING).text, "Plenty mug") == "In stock"  # (its CSRF token differs each time)
    card = api_card(client, "Plenty mug")
    assert (card["in_stock"], card["stock_left"], "stock" in card) == (True, None, False)
    assert api_card(client, "Plenty mug", in_stock="1") is not None
    after = counters()
    # Every list answer was a hit: nothing missed, nothing rebuilt, no list namespace bumped.
    for namespace in (PAGES, PRODUCTS):
        assert after[namespace]["miss"] == before[namespace]["miss"], namespace
        assert after[namespace]["rebuild"] == before[namespace]["rebuild"], namespace
        assert after[namespace]["invalidation"] == before[namespace]["invalidation"], namespace
    assert after[PAGES]["hit"] == before[PAGES]["hit"] + 2  # the visitor's page, and staff's with their navigation
    assert after[PRODUCTS]["hit"] == before[PRODUCTS]["hit"] + 2  # the two API lists
    # The product's own answers are fresh: the exact count on the API, the page rebuilt.
    assert client.get(detail_url).json()["stock"] == 48
    assert after["product"]["invalidation"] == before["product"]["invalidation"] + 1


@pytest.mark.parametrize(
    ("product", "quantity", "shown", "card"),
    [("four", 1, "Only 3 left", (True, 3)), ("last", 1, "Out of stock", (False, 0))],
)
def test_take_that_changes_the_badge_refreshes_every_cached_list(
    client: Client, staff: Client, mugs: SimpleNamespace, product: str, quantity: int, shown: str, card: tuple
) -> None:
    mug = getattr(mugs, product)
    name = mug.name
    warm(client, staff)
    assert badge(client.get(LISTING).text, name) in ("In stock", "Only 1 left")
    before = counters()

    assert take(mug, quantity)

    assert badge(client.get(LISTING).text, name) == shown
    assert badge(staff.get(LISTING).text, name) == shown
    listed = api_card(client, name)
    assert (listed["in_stock"], listed["stock_left"]) == card
    assert (api_card(client, name, in_stock="1") is not None) is card[0]
    assert client.get(f"{API_LIST}{mug.pk}/").json()["stock"] == card[1]
    after = counters()
    assert after[PAGES]["miss"] == before[PAGES]["miss"] + 1
    assert after[PRODUCTS]["rebuild"] >= before[PRODUCTS]["rebuild"] + 4


def test_concurrent_movements_never_leave_a_wrong_badge(client: Client, staff: Client, mugs: SimpleNamespace) -> None:
    # Five shoppers take the last five units at once, then five returns put them back at once.
    # Each update's own before/after counts decide its bump, so whatever the interleaving, the
    # update that stepped across the threshold (4 -> 3, 1 -> 0; 3 -> 4) is the one that bumps.
    # Deciding from a read before the update (all see 5: "5 -> 4, no bump") or after it (all see
    # 5: "4 -> 5, no bump") would leave the cached lists saying the opposite of the truth.
    for _ in range(ROUNDS):
        warm(client, staff)
        assert badge(client.get(LISTING).text, "Five mug") == "In stock"
        assert all_at_once(5, lambda: take(mugs.five, 1)) == [True] * 5
        assert badge(client.get(LISTING).text, "Five mug") == "Out of stock"
        assert badge(staff.get(LISTING).text, "Five mug") == "Out of stock"
        assert api_card(client, "Five mug", in_stock="1") is None

        warm(client, staff)
        assert all_at_once(5, lambda: give_back(mugs.five, 1)) == [True] * 5
        assert badge(client.get(LISTING).text, "Five mug") == "In stock"
        assert badge(staff.get(LISTING).text, "Five mug") == "In stock"
        assert api_card(client, "Five mug", in_stock="1")["stock_left"] is None
    assert client.get(f"{API_LIST}{mugs.five.pk}/").json()["stock"] == 5


def test_badges_are_in_the_visitors_language(client: Client, mugs: SimpleNamespace) -> None:
    shown = [mugs.plenty.name, mugs.last.name, mugs.gone.name]
    english = client.get(LISTING).text
    spanish = client.get(LISTING, headers={"Accept-Language": "es"}).text
    assert [badge(english, name) for name in shown] == ["In stock", "Only 1 left", "Out of stock"]
    assert [badge(spanish, name) for name in shown] == ["En stock", "Solo queda 1", "Agotado"]
