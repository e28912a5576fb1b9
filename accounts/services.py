"""Writes on accounts: every change to users goes through here."""

from __future__ import annotations

from accounts.models import User

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_SHOPPER_EMAIL = "shopper@example.com"


def demo_accounts_create(*, password: str) -> list[User]:
    """The demo superuser and shopper (README, "Demo accounts"); existing ones are left alone."""
    created = []
    if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
        created.append(User.objects.create_superuser(DEMO_ADMIN_EMAIL, password, full_name="Demo Admin"))
    if not User.objects.filter(email=DEMO_SHOPPER_EMAIL).exists():
        created.append(User.objects.create_user(DEMO_SHOPPER_EMAIL, password, full_name="Demo Shopper"))
    return created
