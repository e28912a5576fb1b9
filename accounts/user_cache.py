"""The user a signed-in request needs, read from Redis instead of MongoDB: the user's card.

Keys (README, "Redis key schema"):

- ``acct:user:<user id>``: the card, JSON: the user's fields except ``password`` and
  ``last_login``, and the session auth hash (``get_session_auth_hash()``, an HMAC of the password
  hash: the password hash itself never leaves MongoDB). TTL ``USER_CARD_TTL_SECONDS``.
- ``acct:user-guard:<user id>``: the guard of ``common/guarded_cache.py``; a fill that raced a
  change of the user stores nothing. TTL ``common.guarded_cache.GUARD_TTL_SECONDS``.

Never stale: every change of a card field or the password forgets the card (accounts/signals.py:
before the write, strictly, so a change is refused while Redis cannot forget it, and again after
the write; ``UserQuerySet.update`` too). A user built from a card has ``password`` and
``last_login`` deferred: reading them loads them from MongoDB, and ``save()`` writes only the
fields the card holds, so a save cannot overwrite what the card left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DateTimeField

from accounts.models import User
from common.guarded_cache import guarded_forget, guarded_read
from common.per_user_keys import USER, per_user_keys_register

PREFIX = "acct:user"
USER_CARD_TTL_SECONDS = 3600
# The fields a card holds; a change of any of them, or of the password, forgets it.
CARD_FIELDS = ("email", "full_name", "is_active", "is_staff", "is_superuser", "date_joined", "blocked_at", "blocked_by")
WATCHED_FIELDS = (*CARD_FIELDS, "password")


def user_card_key(user_id: object) -> str:
    """The card of one user."""
    return f"{PREFIX}:{user_id}"


def user_card_guard_key(user_id: object) -> str:
    """The guard of one user's card."""
    return f"{PREFIX}-guard:{user_id}"


def user_card_keys_register() -> None:
    """Have the card read with every signed-in session (common/per_user_keys.py; AccountsConfig.ready)."""
    per_user_keys_register(user_card_key(USER), user_card_guard_key(USER))


@dataclass(frozen=True)
class UserCard:
    """What a signed-in request needs about its user, as Redis holds it."""

    user_id: str
    fields: dict[str, Any]
    auth_hash: str

    @property
    def is_active(self) -> bool:
        return bool(self.fields["is_active"])

    def user(self) -> User:
        """A ``User`` with the card's fields loaded and the others deferred (loaded on access)."""
        loaded = {User._meta.pk.attname: User._meta.pk.to_python(self.user_id)}
        for name in CARD_FIELDS:
            value = self.fields[name]
            if value is not None and isinstance(User._meta.get_field(name), DateTimeField):
                value = datetime.fromisoformat(value)
            loaded[name] = value
        # from_db takes the loaded values in the model's field order.
        names = [field.attname for field in User._meta.concrete_fields if field.attname in loaded]
        return User.from_db("default", names, [loaded[name] for name in names])


def _card_of(user: User) -> dict[str, Any]:
    fields = {}
    for name in CARD_FIELDS:
        value = getattr(user, name)
        fields[name] = value.isoformat() if isinstance(value, datetime) else value
    return {"fields": fields, "auth_hash": user.get_session_auth_hash()}


def user_card(*, user_id: object, prefetched: Mapping[str, Any] | None = None) -> UserCard | None:
    """The user's card, from Redis (or ``prefetched`` with the session), or built from MongoDB on a miss;
    None when there is no such user."""

    def build() -> dict[str, Any] | None:
        try:
            return _card_of(User.objects.get(pk=user_id))
        except (User.DoesNotExist, ValidationError, ValueError, TypeError):
            return None

    card = guarded_read(
        key=user_card_key(user_id), guard_key=user_card_guard_key(user_id), ttl_seconds=USER_CARD_TTL_SECONDS,
        build=build, prefetched=prefetched,
    )  # fmt: skip
    return None if card is None else UserCard(str(user_id), card["fields"], card["auth_hash"])


def user_card_forget(*, user_id: object, strict: bool = False) -> None:
    """Drop the user's card after (and, ``strict``, before) a change; the next request builds it again."""
    guarded_forget(key=user_card_key(user_id), guard_key=user_card_guard_key(user_id), strict=strict)
