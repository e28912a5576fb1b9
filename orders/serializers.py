"""Shapes of orders over HTTP (orders/api.py): what clients send and what they get back.

Output serializers read Order instances (and their embedded lines, address and events);
``Meta.ref_name`` names each OpenAPI component.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orders import services
from orders.models import OrderStatus

ERROR_PRODUCT_ID = _("Product ids are 24 hexadecimal digits.")
ERROR_QUANTITY = _("Quantities must be whole numbers from 1 to 99.")
ERROR_COUNTRY = _("Country must be a two-letter code, like ES.")


class OrderErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A message to show the customer.")
    code = serializers.CharField(
        help_text="empty_cart, invalid_line, out_of_stock, too_many_pending_orders, illegal_transition, "
        "payment_expired, not_found..."
    )

    class Meta:
        ref_name = "OrderError"


class OrderLineOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(help_text="ObjectId of the product bought.")
    sku = serializers.CharField(help_text="As it was when ordered.")
    name = serializers.CharField(help_text="As it was when ordered.")
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="As it was when ordered.")
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "OrderLine"


class ShippingAddressOutputSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()

    class Meta:
        ref_name = "ShippingAddress"


class OrderEventOutputSerializer(serializers.Serializer):
    """A timeline entry, the same shape as the ``event`` of WebSocket pushes (orders/events.py)."""

    seq = serializers.IntegerField(help_text="1 for the order being placed, then 2, 3...")
    to = serializers.CharField(source="to_status")
    actor = serializers.CharField(source="actor_email", help_text="E-mail of who made the change, or system.")
    at = serializers.DateTimeField()
    reason = serializers.CharField(
        help_text="Why the system made the change, or empty: payment_expired (not paid within the payment window)."
    )

    class Meta:
        ref_name = "OrderEvent"

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so it cannot be a class attribute.
        fields = super().get_fields()
        came_from = serializers.CharField(source="from_status", help_text="Empty for the first entry.")
        return {"seq": fields.pop("seq"), "from": came_from, **fields}


class BoundedListField(serializers.ListField):
    """A ListField that refuses an over-long list before validating a single item.

    DRF checks ``max_length`` only after validating every item: a 1 MB body of 17,000 order
    lines kept a worker busy for 1.3 s before being refused.
    """

    def to_internal_value(self, data: object) -> list[object]:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class CartLineInputSerializer(serializers.Serializer):
    product_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", error_messages={"invalid": ERROR_PRODUCT_ID})
    quantity = serializers.IntegerField(
        min_value=1, max_value=services.MAX_QUANTITY,
        error_messages={"invalid": ERROR_QUANTITY, "min_value": ERROR_QUANTITY, "max_value": ERROR_QUANTITY},
    )  # fmt: skip

    class Meta:
        ref_name = "CartLineInput"


class ShippingAddressInputSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", error_messages={"invalid": ERROR_COUNTRY})

    class Meta:
        ref_name = "ShippingAddressInput"

    def validate_country(self, value: str) -> str:
        return value.upper()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ObjectId (24 hex digits).")
    number = serializers.CharField(help_text="What the customer quotes, like T260115-ABC234.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    seq = serializers.IntegerField(help_text="Number of the last timeline entry.")
    email = serializers.EmailField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="A decimal string, like 12.50.")
    lines = OrderLineOutputSerializer(many=True)
    address = ShippingAddressOutputSerializer()
    events = OrderEventOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    pay_by = serializers.DateTimeField(
        source="payment_due", allow_null=True,
        help_text="While pending: when the order is cancelled (its units back on sale) unless paid; "
        "ORDER_PAYMENT_WINDOW_MINUTES after it was placed. Null once it is not pending.",
    )  # fmt: skip

    class Meta:
        ref_name = "Order"
