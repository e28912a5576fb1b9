"""The orders admin (orders/admin.py): read-only history, status changes only through the service."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from accounts.models import User
from orders import admin as admin_module
from orders.models import Order, OrderStatus, ShippingAddress
from orders.notifications import REASON_WORKER_DIED, order_mails_reconcile
from orders.services import CartLine, IllegalTransition, order_place, order_status_change, orders_expire_overdue
from orders.tests.factories import place
from shop.models import Product
from tests.jobs.workers import jobs_run

CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def boss(people: SimpleNamespace) -> User:
    return User.objects.create_superuser("boss@example.com", "x")


@pytest.fixture
def admin_client(boss: User) -> Client:
    client = Client()
    client.force_login(boss)
    return client


def change_url(order: Order) -> str:
    return f"{CHANGELIST}{order.pk}/change/"


def messages_of(response: object) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_changelist_and_change_page_render(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    anas = place(people.ana, (goods.mug.pk, 2))
    address = ShippingAddress(full_name="<b>Bob</b>", line1="1 Main St", city="Leeds", postal_code="LS1", country="GB")
    bobs = order_place(user=people.bob, lines=[CartLine(str(goods.teapot.pk), 1)], address=address)
    order_status_change(order=bobs, to=OrderStatus.PAID, actor=people.staff)

    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert anas.number in html
    assert bobs.number in html
    assert "?status__exact=paid" in html  # the status filter
    assert f"?created_at__year={timezone.now().year}" in html  # the date hierarchy, built from the data
    assert "/admin/orders/order/add/" not in html  # no add button: orders come from checkout
    assert 'value="delete_selected"' not in html
    assert 'value="mark_shipped"' in html

    def numbers(**params: str) -> set[str]:
        response = admin_client.get(CHANGELIST, params)
        assert response.status_code == 200
        return {order.number for order in response.context["cl"].result_list}

    assert numbers(status__exact="paid") == {bobs.number}
    assert numbers(q="bob@") == {bobs.number}
    assert numbers(q=anas.number[-6:]) == {anas.number}
    year, month = timezone.now().year, timezone.now().month
    assert numbers(created_at__year=str(year), created_at__month=str(month)) == {anas.number, bobs.number}
    assert numbers(created_at__year=str(year - 1)) == set()

    page = admin_client.get(change_url(bobs))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>TEA-1</td><td>Last teapot</td><td>30.00</td><td>1</td><td>30.00</td>" in html  # the lines
    # Escaped, never markup.
    assert "<div>&lt;b&gt;Bob&lt;/b&gt;</div><div>1 Main St</div><div>LS1 Leeds</div><div>GB</div>" in html
    assert "<td>2</td><td>Pending payment</td><td>Paid</td><td>staff@example.com</td>" in html  # the timeline
    assert 'name="status"' in html
    assert 'name="lines"' not in html  # embedded data is shown, never edited
    assert 'name="address"' not in html
    assert 'name="events"' not in html
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{change_url(bobs)[: -len('change/')]}delete/").status_code == 403


def test_bulk_ship_changes_paid_orders_and_refuses_pending(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    paid = [place(people.ana, (goods.mug.pk, 1)), place(people.bob, (goods.mug.pk, 1))]
    for order in paid:
        order_status_change(order=order, to=OrderStatus.PAID, actor=people.staff)
    pending = place(people.ana, (goods.teapot.pk, 1))

    response = admin_client.post(
        CHANGELIST, {"action": "mark_shipped", "_selected_action": [str(o.pk) for o in [*paid, pending]]}
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "2 orders are now Shipped."),
        (
            "warning",
            f"1 order was not changed:<ul><li>Order {pending.number} is Pending payment; "
            "it cannot become Shipped.</li></ul>",
        ),
    ]
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses == {paid[0].number: "shipped", paid[1].number: "shipped", pending.number: "pending"}
    shipped = Order.objects.get(pk=paid[0].pk)
    assert (shipped.seq, shipped.events[-1].actor_email) == (3, "boss@example.com")


def test_status_edit_goes_through_the_service(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    order = place(people.ana, (goods.teapot.pk, 2))
    response = admin_client.post(change_url(order), {"status": "cancelled", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Order.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.CANCELLED
    assert [(e.seq, e.from_status, e.to_status, e.actor_email) for e in stored.events] == [
        (1, "", "pending", "ana@example.com"),
        (2, "pending", "cancelled", "boss@example.com"),
    ]
    assert Product.objects.get(pk=goods.teapot.pk).stock == 5  # the service restocked

    # Saving without a change adds nothing to the timeline.
    assert admin_client.post(change_url(order), {"status": "cancelled", "_save": "Save"}).status_code == 302
    assert Order.objects.get(pk=order.pk).seq == 2


def test_illegal_status_edit_is_a_form_error(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))
    response = admin_client.post(change_url(order), {"status": "delivered", "_save": "Save"})
    assert response.status_code == 200  # the form again, with the error
    message = f"Order {order.number} is Pending payment; it cannot become Delivered."
    assert response.context["adminform"].form.errors == {"status": [message]}
    assert message in response.content.decode()
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.seq) == (OrderStatus.PENDING, 1)


def test_a_refusal_at_save_time_shows_the_error(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = place(people.ana, (goods.mug.pk, 1))

    def changed_meanwhile(**kwargs: object) -> Order:
        # What the service says when another admin cancelled the order after this form was checked.
        raise IllegalTransition(f"Order {order.number} is Cancelled; it cannot become Paid.")

    monkeypatch.setattr(admin_module.services, "order_status_change", changed_meanwhile)
    response = admin_client.post(change_url(order), {"status": "paid", "_save": "Save"})
    assert (response.status_code, response["Location"]) == (302, change_url(order))
    assert messages_of(response) == [("error", f"Order {order.number} is Cancelled; it cannot become Paid.")]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_pending_orders_show_their_deadline_and_expiries_their_reason(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    pending = Order.objects.get(pk=place(people.ana, (goods.mug.pk, 1)).pk)
    paid = order_status_change(order=place(people.bob, (goods.mug.pk, 1)), to=OrderStatus.PAID, actor=people.staff)
    expired = place(people.bob, (goods.mug.pk, 1))
    Order.objects.filter(pk=expired.pk).update(pay_by=timezone.now())
    orders_expire_overdue()

    page = admin_client.get(CHANGELIST)
    assert "column-pay_by_column" in page.text
    rows = {
        order.number: row for order in (pending, paid, expired) for row in page.text.split("<tr") if order.number in row
    }
    deadline = date_format(localtime(pending.pay_by), "DATETIME_FORMAT")
    assert f'<td class="field-pay_by_column">{deadline}</td>' in rows[pending.number]
    for number in (paid.number, expired.number):
        assert '<td class="field-pay_by_column">—</td>' in rows[number]

    change = admin_client.get(change_url(expired)).text
    assert "<td>Pending payment</td><td>Cancelled: payment not received in time</td><td>system</td>" in change


def test_the_timeline_shows_each_events_email_and_staff_find_deliveries_unknown(
    admin_client: Client, people: SimpleNamespace, goods: SimpleNamespace
) -> None:
    sent = place(people.ana, (goods.mug.pk, 1))
    jobs_run()  # its e-mail, through the test settings' memory backend
    lost = place(people.bob, (goods.mug.pk, 1))
    # A worker that died while handing the e-mail over: the state it leaves, its lease run out.
    connection.get_collection("orders_order").update_one(
        {"_id": lost.pk},
        {"$set": {"notifications.s1": {"state": "handing_over", "token": "t", "until": timezone.now(), "attempts": 1}}},
    )
    assert order_mails_reconcile().unknown == 1

    assert "sent, " in admin_client.get(change_url(sent)).content.decode()
    page = admin_client.get(change_url(lost)).content.decode()
    assert "delivery unknown (not sent again)" in page
    assert REASON_WORKER_DIED in page
    unknown = admin_client.get(f"{CHANGELIST}?notify_unknown__exact=1").content.decode()
    assert lost.number in unknown
    assert sent.number not in unknown
    assert order_mails_reconcile().unknown == 0  # final: counted once
