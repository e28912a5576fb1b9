from __future__ import annotations

import pytest
from bson import ObjectId
from django.contrib.auth import authenticate

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_users_get_object_id_keys_and_lowercase_emails() -> None:
    user = User.objects.create_user("Ana@Example.COM", "s3cret-pass")
    assert isinstance(user.pk, ObjectId)
    assert user.email == "ana@example.com"
    assert User.objects.get(pk=user.pk) == user


def test_login_by_email_ignores_case() -> None:
    User.objects.create_user("ana@example.com", "s3cret-pass")
    assert authenticate(username="ANA@example.com", password="s3cret-pass") is not None
    assert authenticate(username="ana@example.com", password="wrong") is None


def test_email_is_unique() -> None:
    from django.db import IntegrityError

    User.objects.create_user("ana@example.com", "x")
    with pytest.raises(IntegrityError):
        User.objects.create_user("ANA@example.com", "y")


def test_superuser_is_staff() -> None:
    admin = User.objects.create_superuser("boss@example.com", "x")
    assert admin.is_staff
    assert admin.is_superuser
    assert list(User.objects.filter(is_staff=True).values_list("email", flat=True)) == ["boss@example.com"]
