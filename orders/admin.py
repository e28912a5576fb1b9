"""Orders in Django admin: read-only history, and every status change through
orders.services.order_status_change (the same function the API and the pages call)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from orders import notifications, services
from orders.models import TRANSITIONS, Order, OrderStatus
from orders.services import OrderError

# The service's own wording (orders/services.py, order_status_change), so the form and the
# service refuse with the same sentence.
HELP_NEXT_STATES = _("From here it can become: %(states)s. Each change is recorded in the timeline.")
HELP_FINAL_STATE = _("This order is final: its status cannot change any more.")
MESSAGE_CHANGED = ngettext_lazy("%(count)d order is now %(status)s.", "%(count)d orders are now %(status)s.", "count")
MESSAGE_REFUSED = ngettext_lazy("%(count)d order was not changed:", "%(count)d orders were not changed:", "count")

# What became of each event's e-mail (orders/notifications.py), in the timeline's last column.
MAIL_STATE_LABELS = {
    notifications.CLAIMED: _("sending"),
    notifications.HANDING_OVER: _("sending"),
    notifications.SENT: _("sent"),
    notifications.FAILED: _("refused by the mail server"),
    notifications.UNKNOWN: _("delivery unknown (not sent again)"),
}
MAIL_QUEUED = _("queued")

# request attribute that tells response_change a refused save must not say "changed successfully"
_REFUSED = "_order_status_refused"
EMPTY = "—"


def _label(status: str) -> str:
    return str(OrderStatus(status).label) if status in OrderStatus.values else status or EMPTY


def _with_reason(event: Any) -> str:
    label = _label(event.to_status)
    return f"{label}: {event.reason_label}" if event.reason else label


def _table(headers: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> SafeString:
    """A small read-only HTML table; every cell is escaped."""
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html('<table class="order-embedded"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


def _mail_label(mail: notifications.MailState | None, order: Order) -> str:
    if mail is None or not mail.state:
        return str(MAIL_QUEUED) if order.notify_pending else EMPTY
    label = str(MAIL_STATE_LABELS.get(mail.state, mail.state))
    if mail.at is not None:
        label += f", {date_format(localtime(mail.at), 'DATETIME_FORMAT')}"
    return f"{label}: {mail.reason}" if mail.reason else label


class OrderStatusForm(forms.ModelForm):
    """Only the status is editable; a move the state machine forbids is a form error, not a 500."""

    class Meta:
        model = Order
        fields = ("status",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "status" in self.fields:
            allowed = sorted(TRANSITIONS[self.instance.status], key=OrderStatus.values.index)
            self.fields["status"].help_text = (
                HELP_NEXT_STATES % {"states": ", ".join(_label(status) for status in allowed)}
                if allowed
                else HELP_FINAL_STATE
            )

    def clean_status(self) -> str:
        wanted = self.cleaned_data["status"]
        order = self.instance
        if order.pk and wanted != order.status:
            refusal = services.order_transition_refusal(order=order, to=wanted)
            if refusal:
                raise forms.ValidationError(refusal, code="illegal_transition")
        return wanted


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderStatusForm
    list_display = ("number", "email", "status", "pay_by_column", "total", "currency", "created_at")
    list_filter = ("status", "notify_unknown")
    search_fields = ("number", "email")
    # Renders on mongoeco and django-mongodb-backend (orders/tests/test_admin.py drills down by year and month).
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    actions = ("mark_paid", "mark_shipped", "mark_delivered", "cancel_orders")
    readonly_fields = (
        "number", "user", "email", "total", "currency", "seq", "created_at", "updated_at", "pay_by",
        "lines_table", "address_block", "timeline_table",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("number", "status", "pay_by", "user", "email", ("total", "currency"))}),
        (_("Lines"), {"fields": ("lines_table",)}),
        (_("Shipping address"), {"fields": ("address_block",)}),
        (_("Timeline"), {"fields": ("timeline_table", "seq", "created_at", "updated_at")}),
    )

    # --- permissions: orders come from checkout and are kept as history ------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    # --- embedded data, read-only --------------------------------------------------------------

    @admin.display(description=_("pay by"), ordering="pay_by")
    def pay_by_column(self, obj: Order) -> str:
        """The payment deadline of pending orders (after it they are cancelled)."""
        due = obj.payment_due
        return date_format(localtime(due), "DATETIME_FORMAT") if due else EMPTY

    @admin.display(description=_("lines"))
    def lines_table(self, obj: Order) -> SafeString:
        rows = [
            (line.sku, line.name, f"{line.unit_price:.2f}", line.quantity, f"{line.line_total:.2f}")
            for line in obj.lines or []
        ]
        rows.append(("", "", "", gettext("Total"), f"{obj.total:.2f} {obj.currency}"))
        return _table((_("SKU"), _("name"), _("unit price"), _("quantity"), _("line total")), rows)

    @admin.display(description=_("shipping address"))
    def address_block(self, obj: Order) -> SafeString:
        address = obj.address
        if address is None:
            return format_html("{}", EMPTY)
        parts = [address.full_name, address.line1, address.line2, f"{address.postal_code} {address.city}",
                 address.country]  # fmt: skip
        return format_html_join("", "<div>{}</div>", ((part,) for part in parts if part))

    @admin.display(description=_("timeline"))
    def timeline_table(self, obj: Order) -> SafeString:
        mails = notifications.order_mail_states(order_id=obj.pk)
        rows = [
            (event.seq, _label(event.from_status), _with_reason(event), event.actor_email or EMPTY,
             date_format(localtime(event.at), "DATETIME_FORMAT"), _mail_label(mails.get(event.seq), obj))
            for event in sorted(obj.events or [], key=lambda event: event.seq)
        ]  # fmt: skip
        return _table(("#", _("from"), _("to"), _("by"), _("at"), _("e-mail")), rows)

    # --- saving: the status goes through the service ---------------------------------------------

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        stored = Order.objects.filter(pk=obj.pk).first()
        if stored is None or stored.status == obj.status:
            return  # nothing else on this page is editable
        try:
            services.order_status_change(order=stored, to=obj.status, actor=request.user)
        except OrderError as error:  # someone changed it between the form check and now
            setattr(request, _REFUSED, True)
            self.message_user(request, error.message, messages.ERROR)

    def response_change(self, request: HttpRequest, obj: Order) -> HttpResponse:
        if getattr(request, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # --- bulk actions, one service call per order ------------------------------------------------

    @admin.action(description=_("Mark selected as paid"), permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._change_status(request, queryset, OrderStatus.PAID)

    @admin.action(description=_("Mark selected as shipped"), permissions=["change"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._change_status(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description=_("Mark selected as delivered"), permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._change_status(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description=_("Cancel selected orders"), permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._change_status(request, queryset, OrderStatus.CANCELLED)

    def _change_status(self, request: HttpRequest, queryset: QuerySet[Order], to: OrderStatus) -> None:
        changed = 0
        refused: list[str] = []
        for order in queryset:
            try:
                services.order_status_change(order=order, to=to, actor=request.user)
            except OrderError as error:
                refused.append(error.message)
            else:
                changed += 1
        if changed:
            message = MESSAGE_CHANGED % {"count": changed, "status": to.label}
            self.message_user(request, message, messages.SUCCESS)
        if refused:
            heading = MESSAGE_REFUSED % {"count": len(refused)}
            reasons = format_html_join("", "<li>{}</li>", ((reason,) for reason in refused))
            self.message_user(request, format_html("{}<ul>{}</ul>", heading, reasons), messages.WARNING)
