"""Live order updates over the real Redis channel layer, through the project's ASGI app."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from channels import consumer as channels_consumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from orders import consumers, events, notifications, selectors, services
from orders.events import STAFF_GROUP
from orders.models import OrderStatus
from orders.tests.factories import place
from orders.tests.sockets import HEADERS, application, connect, resync

pytestmark = pytest.mark.asyncio


async def change(order, to: str, actor: User):
    return await sync_to_async(services.order_status_change)(order=order, to=to, actor=actor)


async def test_a_change_reaches_owner_and_staff_but_not_another_shopper(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    owner_list = await connect(people.ana, "/ws/orders/")
    staff = await connect(people.staff, "/ws/staff/orders/")
    other = await connect(people.bob, "/ws/orders/")
    assert (await resync(page))["order"]["status"] == "pending"
    assert [row["number"] for row in (await resync(owner_list))["orders"]] == [order.number]
    assert order.number in [row["number"] for row in (await resync(staff))["orders"]]
    assert (await resync(other))["orders"] == []

    await change(order, OrderStatus.PAID, people.staff)
    for socket in (page, owner_list, staff):
        message = await socket.receive_json_from(timeout=5)
        assert message["type"] == "order.changed"
        assert message["order"]["status"] == "paid"
        assert message["order"]["seq"] == 2
        assert message["order"]["event"] == {**message["order"]["event"], "from": "pending", "to": "paid",
                                              "actor": "staff@example.com"}  # fmt: skip
    assert await other.receive_nothing(timeout=0.3)
    for socket in (page, owner_list, staff, other):
        await socket.disconnect()


async def test_a_change_whose_writer_stopped_before_pushing_reaches_pages_at_the_reconciliation(
    people: SimpleNamespace, goods, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer stored the change, then stopped before its push and its e-mail's hand-over (killed, or Redis gone).
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    assert (await resync(page))["order"]["status"] == "pending"
    with monkeypatch.context() as stopped:
        stopped.setattr(events, "publish_order_changed", lambda order, event: None)
        stopped.setattr(notifications, "order_event_mail_enqueue", lambda **kwargs: None)
        await change(order, OrderStatus.PAID, people.staff)
    assert await page.receive_nothing(timeout=0.3), "the change was stored, not pushed"
    # The reconciliation's first run after the change was stored: it leaves younger events to their request.
    after = timezone.now() + notifications.IN_FLIGHT
    await sync_to_async(notifications.order_mails_reconcile)(now=after)
    message = await page.receive_json_from(timeout=5)
    assert (message["order"]["status"], message["order"]["seq"]) == ("paid", 2)
    await page.disconnect()


async def test_reconnecting_with_an_old_seq_gets_exactly_the_missed_events(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    first = await resync(page)
    assert [event["seq"] for event in first["events"]] == [1]
    await page.disconnect()  # the shopper's connection drops...
    order = await change(order, OrderStatus.PAID, people.ana)
    order = await change(order, OrderStatus.SHIPPED, people.staff)
    order = await change(order, OrderStatus.DELIVERED, people.staff)
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")  # ...and comes back having seen seq 1
    missed = await resync(page, since=1)
    assert [(e["seq"], e["from"], e["to"]) for e in missed["events"]] == [
        (2, "pending", "paid"),
        (3, "paid", "shipped"),
        (4, "shipped", "delivered"),
    ]
    assert missed["order"]["status"] == "delivered"
    assert (await resync(page, since=4))["events"] == []
    await page.disconnect()


async def test_sockets_are_for_owners_and_staff_only(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    for user, path, code in (
        (people.bob, f"/ws/orders/{order.pk}/", 4404),
        (people.bob, "/ws/orders/000000000000000000000000/", 4404),
        (people.bob, "/ws/orders/not-an-id/", 4404),
        (people.ana, "/ws/staff/orders/", 4403),
    ):
        socket = await connect(user, path)  # accepted, then closed with the reason
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": code}
    staff_view = await connect(people.staff, f"/ws/orders/{order.pk}/")
    assert (await resync(staff_view))["order"]["number"] == order.number
    await staff_view.disconnect()
    anonymous = WebsocketCommunicator(application, "/ws/orders/", headers=HEADERS)
    assert (await anonymous.connect())[0], "accepted, then closed with the reason"
    assert await anonymous.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_bad_messages_get_an_error_not_a_crash(people: SimpleNamespace, goods) -> None:
    socket = await connect(people.ana, "/ws/orders/")
    for text in ("not json", '{"type": "shout"}', "[1, 2]", "x" * 5000):
        await socket.send_to(text_data=text)
        reply = await socket.receive_json_from(timeout=3)
        assert reply["type"] == "error"
        assert "resync" in reply["message"]
    assert (await resync(socket, since=-5))["type"] == "orders.resync"
    await socket.disconnect()


async def test_blocking_the_owner_closes_their_order_page(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    await sync_to_async(account_services.user_block)(user=people.ana)
    assert await page.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_status_labels_follow_the_page_language(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    ticket = (await sync_to_async(account_services.ws_ticket_issue)(user=people.ana))["ticket"]
    spanish = WebsocketCommunicator(
        application, f"/ws/orders/{order.pk}/?ticket={ticket}", headers=[*HEADERS, (b"cookie", b"django_language=es")]
    )
    assert (await spanish.connect())[0]
    assert (await resync(spanish))["order"]["status_label"] == "Pendiente de pago"
    await change(order, OrderStatus.PAID, people.staff)  # the change is made in English
    assert (await spanish.receive_json_from(timeout=5))["order"]["status_label"] == "Pagado"
    await spanish.disconnect()


async def test_pushes_and_bans_skip_the_database_thread_hop(people: SimpleNamespace, goods, monkeypatch) -> None:
    # Channels runs close_old_connections in a worker thread before every handler; relaying a
    # push (or a ban) touches no database, and 1,000 sockets made that 1,000 hops per push.
    hops = []
    real = channels_consumer.aclose_old_connections

    async def counted() -> None:
        hops.append(1)
        await real()

    monkeypatch.setattr(channels_consumer, "aclose_old_connections", counted)
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    page = await connect(people.ana, f"/ws/orders/{order.pk}/")
    await resync(page)
    assert hops, "the counter sees Channels' hops (connect, resync)"
    before = len(hops)
    await change(order, OrderStatus.PAID, people.staff)
    assert (await page.receive_json_from(timeout=5))["order"]["status"] == "paid"
    await sync_to_async(account_services.user_block)(user=people.ana)
    assert await page.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    assert len(hops) == before


async def test_staff_pages_share_one_membership_and_each_gets_a_push_once(people: SimpleNamespace, goods) -> None:
    order = await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    pages = [await connect(people.staff, "/ws/staff/orders/") for _ in range(3)]
    layer = get_channel_layer()
    members = await layer.connection(layer.consistent_hash(STAFF_GROUP)).zcard(layer._group_key(STAFF_GROUP))
    assert members == 1, "one member per server process (config/fanout.py), not one per page"
    await change(order, OrderStatus.PAID, people.staff)
    for page in pages:
        assert (await page.receive_json_from(timeout=5))["order"]["seq"] == 2
        assert await page.receive_nothing(timeout=0.2), "exactly once"
        await page.disconnect()


async def test_staff_pages_resyncing_together_share_one_read(people: SimpleNamespace, goods, monkeypatch) -> None:
    """A reconnect storm: pages that ask together share a read that began after they joined."""
    await sync_to_async(place)(people.ana, (goods.mug.pk, 1))
    # The storm, whatever the machine's load: the first read waits until all ten pages have asked.
    # It waits on the event loop: the database thread must stay free, as every socket's messages
    # pass through it first (Channels closes old connections there before each handler).
    asked, all_asked = [], asyncio.Event()
    shared = consumers._recent_orders.get()
    get, read = shared.get, shared._read

    async def counted_get() -> list:
        asked.append(1)
        if len(asked) == 10:
            all_asked.set()
        return await get()

    async def gated_read() -> list:
        await asyncio.wait_for(all_asked.wait(), 10)
        return await read()

    reads = []
    recent = selectors.orders_recent
    monkeypatch.setattr(shared, "get", counted_get)
    monkeypatch.setattr(shared, "_read", gated_read)
    monkeypatch.setattr(selectors, "orders_recent", lambda **kw: reads.append(1) or recent(**kw))
    pages = [await connect(people.staff, "/ws/staff/orders/") for _ in range(10)]
    answers = await asyncio.gather(*(resync(page) for page in pages))
    assert [len(answer["orders"]) for answer in answers] == [1] * 10
    assert 1 <= len(reads) <= 2, "one read running, the pages that asked meanwhile share the next"
    order = await sync_to_async(place)(people.bob, (goods.mug.pk, 1))
    late = await connect(people.staff, "/ws/staff/orders/")
    newest = (await resync(late))["orders"]
    assert [len(newest), newest[0]["order_id"]] == [2, str(order.pk)], "a read from after it asked"
    for page in [*pages, late]:
        await page.disconnect()
