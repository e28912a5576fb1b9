"""Security invariants that must hold however a user changes (admin, API, shell, code).

These receivers only call services: a password, staff, superuser, group or permission change
voids the user's tokens, and deactivation also ends sessions and sockets. They run before
the save, so if Redis cannot record the revocation the change fails instead of silently
leaving old tokens valid.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed, pre_save
from django.dispatch import receiver

from accounts import realtime, services, site_sessions
from accounts.models import User

ACCESS_FIELDS = ("password", "is_staff", "is_superuser", "is_active")


@receiver(pre_save, sender=User, dispatch_uid="accounts.user_access_changed")
def user_access_changed(sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    """Void tokens when credentials or rights change; sign out everywhere on deactivation."""
    if instance.pk is None or (update_fields is not None and not set(update_fields) & set(ACCESS_FIELDS)):
        return
    before = User.objects.filter(pk=instance.pk).values(*ACCESS_FIELDS).first()
    if before is None:
        return
    changed = {field for field in ACCESS_FIELDS if before[field] != getattr(instance, field)}
    if not changed:
        return
    if "is_active" in changed and not instance.is_active:
        services.user_sign_out_everywhere(user=instance)
    elif changed - {"is_active"}:
        services.tokens_revoke_all_for_user(user=instance)


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
