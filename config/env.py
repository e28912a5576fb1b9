"""Every setting that varies comes from the environment, read through these helpers."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from common.yes_no import yes_no


def env_str(name: str, default: str | None = None) -> str:
    """The variable's value, or ``default``; a missing variable without default is an error."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable (see .env.example).")
    return default


def env_bool(name: str, *, default: bool) -> bool:
    """A yes/no variable: 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = yes_no(raw)
    if value is None:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value; use 1 or 0.")
    return value


def env_int(name: str, *, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer variable, optionally within ``minimum``..``maximum`` (both included)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else f" at least {minimum}"
        high = "" if maximum is None else f" at most {maximum}"
        joined = " and".join(part for part in (low, high) if part)
        raise ImproperlyConfigured(f"{name}={raw!r} is out of range: it must be{joined}.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]
