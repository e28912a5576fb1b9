from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.services import DEMO_ADMIN_EMAIL, DEMO_SHOPPER_EMAIL
from shop.models import Product

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_readme_accounts(settings) -> None:
    settings.DEMO_PASSWORD = "demo-pass-123"
    call_command("seed_demo")
    admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
    shopper = User.objects.get(email=DEMO_SHOPPER_EMAIL)
    assert admin.is_superuser
    assert admin.check_password("demo-pass-123")
    assert not shopper.is_staff
    assert shopper.check_password("demo-pass-123")


def test_if_empty_leaves_an_existing_database_alone() -> None:
    User.objects.create_user("someone@example.com", "x")
    call_command("seed_demo", "--if-empty")
    assert not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists()


def test_seeding_twice_does_not_duplicate() -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    assert User.objects.count() == 2
    assert Product.objects.count() == settings.DEMO_CATALOG_SIZE


def test_demo_data_is_refused_where_disabled(settings) -> None:
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="production never has demo accounts"):
        call_command("seed_demo")
    assert not User.objects.exists()
