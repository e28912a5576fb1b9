"""Security invariants that must hold however a user changes (admin, API, shell, code).

These receivers only call services: a password, staff, superuser, group or permission change
voids the user's tokens, and deactivation also ends sessions and sockets. They run before
the save, so if Redis cannot record the revocation the change fails instead of silently
leaving old tokens valid. A change of anything the user's card in Redis holds
(accounts/user_cache.py) forgets the card before the save (the change fails if Redis cannot
forget it) and again after it (a request that read the old row in between cannot keep it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts import realtime, services, site_sessions
from accounts.models import User
from accounts.user_cache import WATCHED_FIELDS, user_card_forget

ACCESS_FIELDS = ("password", "is_staff", "is_superuser", "is_active")
_COMPARED_FIELDS = frozenset(ACCESS_FIELDS) | frozenset(WATCHED_FIELDS)


def _saved_fields(update_fields: Any) -> frozenset[str]:
    """The compared fields a save writes (all of them when ``update_fields`` is None)."""
    return _COMPARED_FIELDS if update_fields is None else _COMPARED_FIELDS & set(update_fields)


@receiver(pre_save, sender=User, dispatch_uid="accounts.user_access_changed")
def user_access_changed(sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    """Void tokens when credentials or rights change; sign out everywhere on deactivation; forget the card."""
    fields = _saved_fields(update_fields)
    if instance.pk is None or not fields:
        return
    before = User.objects.filter(pk=instance.pk).values(*fields).first()
    if before is None:
        return
    changed = {field for field in fields if before[field] != getattr(instance, field)}
    if changed & set(WATCHED_FIELDS):
        user_card_forget(user_id=instance.pk, strict=True)
    access_changed = changed & set(ACCESS_FIELDS)
    if "is_active" in access_changed and not instance.is_active:
        services.user_sign_out_everywhere(user=instance)
    elif access_changed - {"is_active"}:
        services.tokens_revoke_all_for_user(user=instance)


@receiver(post_save, sender=User, dispatch_uid="accounts.user_card_saved")
def user_card_saved(
    sender: type[User], instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """Forget the card once the change is stored (a new user has none)."""
    if not created and _saved_fields(update_fields) & set(WATCHED_FIELDS):
        user_card_forget(user_id=instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="accounts.user_card_deleted")
def user_card_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    """A deleted user has no card."""
    user_card_forget(user_id=instance.pk)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.user_groups_changed")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="accounts.user_permissions_changed")
def user_rights_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    """Void tokens of users whose groups or permissions changed (from either side of the relation)."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    users = [instance] if not reverse else list(User.objects.filter(pk__in=pk_set or []))
    for user in users:
        services.tokens_revoke_all_for_user(user=user)


@receiver(user_logged_in, dispatch_uid="accounts.site_session_index")
def site_session_index(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    """Index the new site session so a ban can end it."""
    if request is not None and hasattr(request, "session"):
        site_sessions.site_session_index_add(user_id=user.pk, session_key=request.session.session_key)


@receiver(user_logged_in, dispatch_uid="accounts.language_remember")
def language_remember(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    """Keep the language of the page the user logged in from: their e-mails are written in it."""
    language = getattr(request, "LANGUAGE_CODE", "")
    if language:
        services.user_language_remember(user=user, language=language)


@receiver(user_logged_out, dispatch_uid="accounts.site_session_unindex")
def site_session_unindex(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    """Drop the site session from the index at logout, and close the sockets it opened."""
    if user is not None and request is not None and hasattr(request, "session"):
        site_sessions.site_session_index_remove(user_id=user.pk, session_key=request.session.session_key)
        realtime.credential_sockets_close(kind="site", key=request.session.session_key or "")
