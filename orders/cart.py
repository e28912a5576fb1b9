"""The shopping cart, kept in the Django session (it survives login: Django keeps session data then).

Stored as ``session["cart"] = {"lines": {"<product id>": quantity, ...}, "units": n}``. Product ids
are strings, quantities 1..99, at most 50 lines. ``units`` is the sum of the quantities, kept here
so the header can show "Cart (N)" straight from the session (templates/base.html) without a query.
This module is the only writer of that key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orders.services import MAX_LINES, MAX_QUANTITY, CartLine
from shop.selectors import product_detail_by_id

SESSION_KEY = "cart"
_PRODUCT_ID = re.compile(r"^[0-9a-f]{24}$")


class CartFull(ValueError):
    """Adding a new product would give the cart more than MAX_LINES lines."""


def is_product_id(value: str) -> bool:
    """True when ``value`` looks like a product id (an ObjectId as 24 lowercase hex digits)."""
    return bool(_PRODUCT_ID.match(value))


def _stored(session: Any) -> dict[str, int]:
    """The session's lines, skipping anything malformed (an old format, a hand-edited store)."""
    raw = session.get(SESSION_KEY)
    lines = raw.get("lines") if isinstance(raw, dict) else None
    if not isinstance(lines, dict):
        return {}
    return {
        product_id: quantity
        for product_id, quantity in lines.items()
        if isinstance(product_id, str)
        and is_product_id(product_id)
        and isinstance(quantity, int)
        and 1 <= quantity <= MAX_QUANTITY
    }


def _save(session: Any, lines: dict[str, int]) -> None:
    session[SESSION_KEY] = {"lines": lines, "units": sum(lines.values())}


def cart_add(session: Any, *, product_id: str, quantity: int) -> int:
    """Add ``quantity`` units (capped at MAX_QUANTITY in total); returns the line's new quantity.

    Raises CartFull when the product is not in the cart yet and the cart already has MAX_LINES lines.
    """
    lines = _stored(session)
    if product_id not in lines and len(lines) >= MAX_LINES:
        raise CartFull(product_id)
    lines[product_id] = max(1, min(MAX_QUANTITY, lines.get(product_id, 0) + quantity))
    _save(session, lines)
    return lines[product_id]


def cart_set(session: Any, *, product_id: str, quantity: int) -> None:
    """Set a line's quantity (clamped to 1..MAX_QUANTITY); 0 removes it; unknown products are ignored."""
    lines = _stored(session)
    if product_id not in lines:
        return
    if quantity <= 0:
        del lines[product_id]
    else:
        lines[product_id] = min(MAX_QUANTITY, quantity)
    _save(session, lines)


def cart_remove(session: Any, *, product_id: str) -> bool:
    """Remove a line; False when it was not in the cart."""
    lines = _stored(session)
    if lines.pop(product_id, None) is None:
        return False
    _save(session, lines)
    return True


def cart_clear(session: Any) -> None:
    """Empty the cart (after a successful checkout)."""
    session.pop(SESSION_KEY, None)


def cart_lines(session: Any) -> list[CartLine]:
    """The cart's lines in the order they were added."""
    return [CartLine(product_id=product_id, quantity=quantity) for product_id, quantity in _stored(session).items()]


def cart_count(session: Any) -> int:
    """How many units the cart holds (what the header shows)."""
    return sum(_stored(session).values())


@dataclass(frozen=True)
class CartRow:
    """A line as the cart page shows it: the product as it is now (None when no longer on sale)."""

    product_id: str
    quantity: int
    product: dict[str, Any] | None

    @property
    def on_sale(self) -> bool:
        return self.product is not None

    @property
    def line_total(self) -> Decimal | None:
        return Decimal(self.product["price"]) * self.quantity if self.product else None

    @property
    def short_of_stock(self) -> bool:
        """Fewer units left than the cart asks for (checkout will refuse it)."""
        return self.product is not None and self.product["stock"] < self.quantity


@dataclass(frozen=True)
class CartSummary:
    rows: list[CartRow] = field(default_factory=list)
    subtotal: Decimal = Decimal("0.00")
    currency: str = "EUR"

    @property
    def checkout_lines(self) -> list[CartLine]:
        """The lines an order can be placed for: products still on sale."""
        return [CartLine(product_id=row.product_id, quantity=row.quantity) for row in self.rows if row.on_sale]

    @property
    def has_unavailable(self) -> bool:
        return any(not row.on_sale for row in self.rows)


def cart_summary(session: Any) -> CartSummary:
    """The cart with each product's current name, price and stock (cached catalog reads)."""
    rows = [
        CartRow(product_id=line.product_id, quantity=line.quantity, product=product_detail_by_id(line.product_id))
        for line in cart_lines(session)
    ]
    on_sale = [row for row in rows if row.product is not None]
    subtotal = sum((row.line_total or Decimal("0.00") for row in on_sale), Decimal("0.00"))
    currency = on_sale[0].product["currency"] if on_sale and on_sale[0].product else "EUR"
    return CartSummary(rows=rows, subtotal=subtotal, currency=currency)
