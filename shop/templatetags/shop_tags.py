"""Presentation helpers for catalog pages: prices, stock badges and attribute labels."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
# The translator decides where the symbol goes: "€12.50" in English, "12,50 €" in Spanish.
PRICE_FORMAT = _("%(symbol)s%(amount)s")
# Attribute names are data; the demo catalog's are labelled here, any other is humanised.
ATTRIBUTE_LABELS = {
    "age": _("Age"),
    "brand": _("Brand"),
    "capacity": _("Capacity"),
    "colour": _("Colour"),
    "compatibility": _("Compatibility"),
    "format": _("Format"),
    "language": _("Language"),
    "material": _("Material"),
    "size": _("Size"),
    "warranty": _("Warranty"),
}


@register.simple_tag
def price(amount: str | Decimal, currency: str = "EUR") -> str:
    """``amount`` with its currency, localised ("€1,234.50" / "1.234,50 €")."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    formatted = number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    return str(PRICE_FORMAT % {"symbol": CURRENCY_SYMBOLS.get(currency, currency), "amount": formatted})


@register.filter
def attribute_label(name: str) -> str:
    """A person-readable, translated label for an attribute name ("colour" -> "Colour")."""
    return str(ATTRIBUTE_LABELS.get(name) or name.replace("_", " ").capitalize())


@register.simple_tag
def stock_badge(product: Mapping[str, Any]) -> SafeString:
    """The stock state of a card or product: in stock, only N left (1 to 3), or out of stock.

    Reads ``in_stock`` and ``stock_left`` (shop/availability.py), never the exact count, so a
    list card and the product page show the same badge. Built here rather than in a template of
    its own: a listing shows 24 badges, and a template each cost a quarter of the cards' rendering.
    """
    left = product["stock_left"]
    if not product["in_stock"]:
        state, label = "out", gettext("Out of stock")
    elif left is not None:
        state, label = "low", ngettext("Only %(counter)s left", "Only %(counter)s left", left) % {"counter": left}
    else:
        state, label = "in", gettext("In stock")
    return format_html('<p class="stock stock-{}">{}</p>', state, label)
