"""Redis keys read together with a signed-in request's session, in the same round trip.

Every signed-in page shows a few things kept per user in Redis: the user's card
(accounts/user_cache.py) and the pending-orders badge (orders/pending_badge.py). Read one after the
other, with the session's copy first (it names the user), they cost three round trips per page.
Instead each owner registers its keys here as templates with ``{user}`` for the user id, when
its app is ready; the session store (accounts/session_store.py) reads the session's copy and these
keys in one Lua script, and each owner finds its values there (``common.guarded_cache.guarded_read``,
``prefetched=``). The owners keep naming their keys; this module only lists them.
"""

from __future__ import annotations

USER = "{user}"
_templates: list[str] = []


def per_user_keys_register(*templates: str) -> None:
    """Read these keys (``{user}`` stands for the user id) with every signed-in session."""
    for template in templates:
        if USER not in template:
            raise ValueError(f"{template!r} has no {USER} for the user id")
        if template not in _templates:
            _templates.append(template)


def per_user_key_templates() -> tuple[str, ...]:
    """The registered templates, in registration order."""
    return tuple(_templates)
