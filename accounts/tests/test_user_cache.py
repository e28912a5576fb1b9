"""accounts/user_cache.py: the user's card in Redis, what it holds, and that no change leaves it stale."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from accounts.models import User
from accounts.user_cache import user_card, user_card_key
from common.guarded_cache import GuardedCacheUnavailable
from common.mongo_commands import mongo_commands
from common.tests.helpers import redis_down_caches

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("ana@example.com", "tidal-pool-55", full_name="Ana Pérez")


def cached(user: User) -> dict | None:
    raw = get_redis_connection("default").get(user_card_key(user.pk))
    return None if raw is None else json.loads(raw)


def test_the_card_holds_the_auth_hash_never_the_password_hash(shopper: User) -> None:
    card = user_card(user_id=str(shopper.pk))

    raw = json.dumps(cached(shopper))
    assert shopper.password not in raw
    assert shopper.password.split("$")[-1] not in raw
    assert card.auth_hash == shopper.get_session_auth_hash()
    assert set(card.fields) == {"email", "full_name", "is_active", "is_staff", "is_superuser", "date_joined",
                                "blocked_at", "blocked_by"}  # fmt: skip
    assert 0 < get_redis_connection("default").ttl(user_card_key(shopper.pk)) <= 3600


def test_a_user_from_a_card_needs_no_query_until_it_reads_what_the_card_left_out(shopper: User) -> None:
    user_card(user_id=str(shopper.pk))
    with mongo_commands() as sent:
        user = user_card(user_id=str(shopper.pk)).user()
        assert (user.pk, user.email, user.get_short_name(), user.is_staff) == (shopper.pk, shopper.email, "Ana", False)
        joined = shopper.date_joined
        assert user.date_joined == joined.replace(microsecond=joined.microsecond // 1000 * 1000)  # as MongoDB keeps it
    assert sent == []
    with mongo_commands() as sent:
        assert user.check_password("tidal-pool-55")  # the password is loaded from MongoDB on access
    assert sent != []


def test_saving_a_user_from_a_card_keeps_what_the_card_left_out(shopper: User) -> None:
    logged_in_at = timezone.now().replace(microsecond=0)
    User.objects.filter(pk=shopper.pk).update(last_login=logged_in_at)
    user = user_card(user_id=str(shopper.pk)).user()

    user.full_name = "Ana María Pérez"
    user.save()

    shopper.refresh_from_db()
    assert shopper.full_name == "Ana María Pérez"
    assert shopper.last_login == logged_in_at
    assert shopper.check_password("tidal-pool-55")


@pytest.mark.parametrize(
    ("field", "value"),
    [("full_name", "Anabel"), ("email", "anabel@example.com"), ("is_staff", True), ("is_active", False)],
)
def test_any_change_of_the_card_fields_forgets_it(shopper: User, field: str, value: object) -> None:
    user_card(user_id=str(shopper.pk))
    setattr(shopper, field, value)
    shopper.save()

    assert cached(shopper) is None
    assert user_card(user_id=str(shopper.pk)).fields[field] == value


def test_a_password_change_gives_the_card_a_new_auth_hash(shopper: User) -> None:
    before = user_card(user_id=str(shopper.pk)).auth_hash
    shopper.set_password("another-pool-56")
    shopper.save()

    assert user_card(user_id=str(shopper.pk)).auth_hash == shopper.get_session_auth_hash() != before


def test_a_login_timestamp_does_not_forget_the_card(shopper: User) -> None:
    user_card(user_id=str(shopper.pk))
    shopper.last_login = timezone.now()
    shopper.save(update_fields=["last_login"])  # what every login does (update_last_login)

    assert cached(shopper) is not None


def test_a_queryset_update_forgets_the_cards_of_the_users_it_changes(shopper: User) -> None:
    other = User.objects.create_user("bob@example.com", "x")
    user_card(user_id=str(shopper.pk))
    user_card(user_id=str(other.pk))

    User.objects.filter(pk=shopper.pk).update(full_name="Ana B.")

    assert cached(shopper) is None
    assert cached(other) is not None


def test_while_redis_is_down_cards_come_from_mongodb_and_changes_to_them_are_refused(shopper: User, settings) -> None:
    user_card(user_id=str(shopper.pk))  # the copy an append-only Redis would come back with
    with override_settings(CACHES=redis_down_caches(settings.CACHES)):
        assert user_card(user_id=str(shopper.pk)).fields["full_name"] == "Ana Pérez"
        shopper.full_name = "Changed while Redis is down"
        with pytest.raises(GuardedCacheUnavailable):
            shopper.save()
        # Signing in still works: the login timestamp is not on the card.
        shopper.refresh_from_db()
        shopper.last_login = timezone.now()
        shopper.save(update_fields=["last_login"])

    assert User.objects.get(pk=shopper.pk).full_name == "Ana Pérez"
    assert user_card(user_id=str(shopper.pk)).fields["full_name"] == "Ana Pérez"


def test_unknown_and_malformed_ids_have_no_card() -> None:
    assert user_card(user_id="0" * 24) is None
    assert user_card(user_id="not-an-id") is None
