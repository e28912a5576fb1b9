"""The header's "N orders to pay" badge: each user's count of pending orders, kept in Redis.

Keys (README, "Redis key schema"):

- ``orders:pending:<user id>``: the count (JSON), built from MongoDB on a miss. TTL
  ``BADGE_TTL_SECONDS``.
- ``orders:pending-guard:<user id>``: the guard of ``common/guarded_cache.py``, so a count read
  while an order changed is not stored. TTL ``common.guarded_cache.GUARD_TTL_SECONDS``.

orders/services.py forgets the count after every change of a user's pending orders (an order
placed, a pending order paid or cancelled, by the shopper, staff or the expiry job), so the next
page counts again. A forget that fails while Redis is down is done at this process's next contact
with Redis; another process can show the old count until then, at most ``BADGE_TTL_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts.models import User
from common.guarded_cache import guarded_forget, guarded_read
from common.per_user_keys import USER, per_user_keys_register
from orders.selectors import orders_pending_count

PREFIX = "orders:pending"
BADGE_TTL_SECONDS = 600


def pending_badge_key(user_id: object) -> str:
    """One user's count of pending orders."""
    return f"{PREFIX}:{user_id}"


def pending_badge_guard_key(user_id: object) -> str:
    """The guard of one user's count."""
    return f"{PREFIX}-guard:{user_id}"


def pending_badge_keys_register() -> None:
    """Have the count read with every signed-in session (common/per_user_keys.py; OrdersConfig.ready)."""
    per_user_keys_register(pending_badge_key(USER), pending_badge_guard_key(USER))


def pending_orders_badge(*, user: User, prefetched: Mapping[str, Any] | None = None) -> int:
    """How many of the user's orders wait for payment, from Redis (or ``prefetched`` with the session;
    MongoDB on a miss)."""
    return guarded_read(
        key=pending_badge_key(user.pk), guard_key=pending_badge_guard_key(user.pk), ttl_seconds=BADGE_TTL_SECONDS,
        build=lambda: orders_pending_count(user=user), prefetched=prefetched,
    )  # fmt: skip


def pending_orders_badge_forget(*, user_id: object) -> None:
    """Drop the user's count after a change of their pending orders."""
    guarded_forget(key=pending_badge_key(user_id), guard_key=pending_badge_guard_key(user_id))
