"""Orders are single MongoDB documents: lines, shipping address and timeline are embedded,
so an order is written whole or not at all, and a status change plus its timeline entry is
one atomic document update (orders/services.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_mongodb_backend.fields import EmbeddedModelArrayField, EmbeddedModelField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class EventReason(models.TextChoices):
    """Why the system (not a person) made a change; the timeline shows it after the new status."""

    PAYMENT_EXPIRED = "payment_expired", _("payment not received in time")


# The only legal moves (docs/architecture.md, "Order state machine").
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class OrderLine(EmbeddedModel):
    """A product as it was when bought: name, SKU and unit price are copies, not links."""

    product_id = ObjectIdField(_("product"))
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class ShippingAddress(EmbeddedModel):
    full_name = models.CharField(_("full name"), max_length=150)
    line1 = models.CharField(_("address"), max_length=200)
    line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(_("country"), max_length=2, default="ES")


class OrderEvent(EmbeddedModel):
    """One entry of the timeline; ``seq`` numbers an order's changes 1, 2, 3..."""

    seq = models.PositiveIntegerField(_("sequence"))
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    actor_email = models.CharField(_("by"), max_length=254, blank=True)
    at = models.DateTimeField(_("at"))
    reason = models.CharField(_("reason"), max_length=40, blank=True, default="", choices=EventReason.choices)

    @property
    def reason_label(self) -> str:
        return str(EventReason(self.reason).label) if self.reason in EventReason.values else self.reason


class Order(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), related_name="orders", on_delete=models.PROTECT
    )
    email = models.EmailField(_("e-mail"))
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    seq = models.PositiveIntegerField(_("last event number"), default=1)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    lines = EmbeddedModelArrayField(OrderLine, verbose_name=_("lines"))
    address = EmbeddedModelField(ShippingAddress, verbose_name=_("shipping address"))
    events = EmbeddedModelArrayField(OrderEvent, verbose_name=_("timeline"), default=list)
    created_at = models.DateTimeField(_("placed"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Stored, not derived from created_at: changing ORDER_PAYMENT_WINDOW_MINUTES must not move a
    # deadline a shopper was already shown. Null only for orders placed before deadlines existed.
    pay_by = models.DateTimeField(_("pay by"), null=True, blank=True)
    # Set by the write that adds an event (placing, every status change) and cleared once each
    # event's e-mail is sent or given up: what the reconciliation looks at (orders/notifications.py).
    notify_pending = models.BooleanField(_("e-mails pending"), default=False, editable=False)
    # Set when an event's e-mail was handed to the mail server and no answer came: it may or may
    # not have arrived, and it is not sent again (orders/notifications.py). Staff filter on it.
    notify_unknown = models.BooleanField(_("e-mail delivery unknown"), default=False, editable=False)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["status", "pay_by"], name="order_status_pay_by"),  # orders_overdue
            models.Index(fields=["notify_pending", "updated_at"], name="order_notify_pending"),  # reconciliation
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"number": self.number})

    @property
    def payment_due(self) -> datetime | None:
        """When this order is cancelled unless paid; None once it is no longer pending."""
        return self.pay_by if self.status == OrderStatus.PENDING else None

    def can_become(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]
