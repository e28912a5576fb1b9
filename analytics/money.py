"""Money as integers of a currency's minor unit (cents): exact sums, never floats."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 exponents that are not 2; the shop prices in EUR.
_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """``12.50`` EUR → ``1250``."""
    return int((Decimal(amount) * (10 ** exponent(currency))).to_integral_value())


def from_minor(minor: int, currency: str) -> str:
    """``1250`` EUR → ``"12.50"``, as text so JSON keeps it exact."""
    places = exponent(currency)
    value = Decimal(minor).scaleb(-places)
    return f"{value:.{places}f}"
