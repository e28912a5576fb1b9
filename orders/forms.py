"""Input of the cart, checkout and staff dashboard pages (validation only; writes are in services)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from orders.cart import is_product_id
from orders.models import OrderStatus, ShippingAddress
from orders.services import MAX_QUANTITY

ERROR_PRODUCT_ID = _("That is not a product of this shop.")
ERROR_QUANTITY = _("Choose a quantity from 1 to %(max)d.")
ERROR_COUNTRY = _("We only ship to the countries in the list.")

# Where we ship (EU): ISO 3166-1 alpha-2 codes, Spain first as the default.
SHIPPING_COUNTRIES = [
    ("ES", _("Spain")),
    ("PT", _("Portugal")),
    ("FR", _("France")),
    ("DE", _("Germany")),
    ("IT", _("Italy")),
    ("NL", _("Netherlands")),
    ("BE", _("Belgium")),
    ("IE", _("Ireland")),
    ("AT", _("Austria")),
]
DEFAULT_COUNTRY = "ES"


def _address_max_length(name: str) -> int:
    """The model's max_length, so the form never accepts what the order document would refuse."""
    return ShippingAddress._meta.get_field(name).max_length


def _address_label(name: str) -> str:
    return capfirst(ShippingAddress._meta.get_field(name).verbose_name)


def _address_field(name: str, *, autocomplete: str, required: bool = True) -> forms.CharField:
    """A text field for ShippingAddress.<name>: the model's label and length, the browser's autofill."""
    return forms.CharField(
        label=_address_label(name),
        max_length=_address_max_length(name),
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
    )


class _ProductIdField(forms.CharField):
    def __init__(self) -> None:
        super().__init__(max_length=24, widget=forms.HiddenInput)

    def validate(self, value: str) -> None:
        super().validate(value)
        if not is_product_id(value):
            raise ValidationError(ERROR_PRODUCT_ID, code="product_id")


def _quantity_error() -> str:
    return str(ERROR_QUANTITY) % {"max": MAX_QUANTITY}


def _quantity_field(min_value: int) -> forms.IntegerField:
    error = lazy(_quantity_error, str)()  # formatted when shown, in the request's language
    return forms.IntegerField(
        label=_("Quantity"),
        min_value=min_value,
        max_value=MAX_QUANTITY,
        error_messages={"min_value": error, "max_value": error, "invalid": error, "required": error},
    )


class CartAddForm(forms.Form):
    product_id = _ProductIdField()
    quantity = _quantity_field(1)


class CartUpdateForm(forms.Form):
    """A new quantity for a line; 0 removes it."""

    product_id = _ProductIdField()
    quantity = _quantity_field(0)


class CartRemoveForm(forms.Form):
    product_id = _ProductIdField()


class ShippingAddressForm(forms.Form):
    """The fields of orders.models.ShippingAddress, with a select of the countries we ship to."""

    full_name = _address_field("full_name", autocomplete="name")
    line1 = _address_field("line1", autocomplete="address-line1")
    line2 = _address_field("line2", autocomplete="address-line2", required=False)
    city = _address_field("city", autocomplete="address-level2")
    postal_code = _address_field("postal_code", autocomplete="postal-code")
    country = forms.ChoiceField(
        label=_("Country"),
        choices=SHIPPING_COUNTRIES,
        initial=DEFAULT_COUNTRY,
        error_messages={"invalid_choice": ERROR_COUNTRY},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )

    def address(self) -> ShippingAddress:
        """The validated address as the embedded document the order stores."""
        return ShippingAddress(**self.cleaned_data)


class OrderFilterForm(forms.Form):
    """The staff dashboard's status filter ("" shows every status)."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *OrderStatus.choices]
    )
