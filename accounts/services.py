"""Writes on accounts: every change to users goes through here."""

from __future__ import annotations

import logging

from django.contrib.auth import password_validation
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

from accounts import blocklist, realtime, site_sessions, tickets
from accounts.models import User
from accounts.tokens import (
    ERROR_ACCOUNT_BLOCKED,
    ERROR_FAMILY_ENDED,
    FAMILY_CLAIM,
    ISSUED_MS_CLAIM,
    TiendaAccessToken,
    TiendaRefreshToken,
    token_refusal,
)

ERROR_REFRESH_REUSED = _(
    "This refresh token was already used. For your safety the session has been ended on every device "
    "that shared it. Log in again."
)

logger = logging.getLogger(__name__)

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


# --- Sign-up ---------------------------------------------------------------------------


class EmailAlreadyRegistered(Exception):
    """An account already uses this e-mail address."""


def email_normalize(email: str) -> str:
    """The stored form of an e-mail address: trimmed and lower-cased, as ``User`` keeps it."""
    return User.objects.normalize_email(email.strip()).lower()


def user_signup(*, email: str, password: str, full_name: str = "") -> User:
    """Create an active shopper account (the site's sign-up page).

    Raises ``EmailAlreadyRegistered`` when the address is taken (also when two sign-ups race:
    the unique index decides), and ``ValidationError`` when the password fails
    ``AUTH_PASSWORD_VALIDATORS`` (the form checks first, so the page shows it by the field).
    """
    email = email_normalize(email)
    full_name = full_name.strip()
    password_validation.validate_password(password, User(email=email, full_name=full_name))
    if User.objects.filter(email=email).exists():
        raise EmailAlreadyRegistered(email)
    try:
        return User.objects.create_user(email, password, full_name=full_name)
    except IntegrityError as error:
        # django-mongodb-backend leaves str(IntegrityError) empty; the cause holds the details.
        logger.info("sign-up lost a race for an e-mail address: %r", error.__cause__)
        raise EmailAlreadyRegistered(email) from error


def user_language_remember(*, user: User, language: str) -> None:
    """Keep the site language ``user`` uses: their e-mails are written in it."""
    language = language[:8]
    if language and user.pk and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def user_email_confirm(*, user: User) -> bool:
    """Record that ``user`` opened a link sent to their address; False if it was already confirmed."""
    if user.email_confirmed_at is not None:
        return False
    user.email_confirmed_at = timezone.now()
    User.objects.filter(pk=user.pk).update(email_confirmed_at=user.email_confirmed_at)
    return True


# --- API tokens -------------------------------------------------------------------------


def _refresh_ttl_seconds() -> int:
    return int(api_settings.REFRESH_TOKEN_LIFETIME.total_seconds())


def token_pair_issue(*, user: User, user_agent: str = "", ip: str = "") -> dict[str, str]:
    """Start an API session: a refresh token in a new family, and its first access token."""
    refresh = TiendaRefreshToken.for_api_session(user)
    blocklist.family_register(
        family=refresh.family,
        user_id=str(user.pk),
        refresh_jti=refresh.jti,
        user_agent=user_agent,
        ip=ip,
        ttl_seconds=_refresh_ttl_seconds(),
    )
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_refresh(*, raw_refresh: str) -> dict[str, str]:
    """Rotate a refresh token. Presenting an already-rotated one ends the whole API session."""
    refresh = TiendaRefreshToken(raw_refresh)  # signature, expiry, type and blocklist
    user = User.objects.filter(pk=refresh.payload.get(api_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise TokenError(ERROR_ACCOUNT_BLOCKED)
    rotated = TiendaRefreshToken.for_api_session(user, family=refresh.family)
    outcome = blocklist.family_rotate(
        family=refresh.family,
        user_id=str(user.pk),
        old_jti=refresh.jti,
        new_jti=rotated.jti,
        ttl_seconds=_refresh_ttl_seconds(),
    )
    if outcome == blocklist.REUSED:
        # Two holders of one refresh token: one is a thief. End the API session for both.
        blocklist.end_family(family=refresh.family, user_id=str(user.pk), ttl_seconds=_refresh_ttl_seconds())
        raise TokenError(ERROR_REFRESH_REUSED)
    if outcome == blocklist.UNKNOWN:
        raise TokenError(ERROR_FAMILY_ENDED)
    return {"access": str(rotated.access_token), "refresh": str(rotated)}


def token_logout(*, access: TiendaAccessToken) -> None:
    """Log out this API session: the presented access token and its API session's refresh tokens."""
    user_id = str(access.payload[api_settings.USER_ID_CLAIM])
    blocklist.revoke_token(jti=str(access.payload[api_settings.JTI_CLAIM]), expires_at=int(access.payload["exp"]))
    family = str(access.payload[FAMILY_CLAIM])
    blocklist.end_family(family=family, user_id=user_id, ttl_seconds=_refresh_ttl_seconds())
    realtime.credential_sockets_close(kind="api", key=family)


def api_session_end(*, user: User, family: str) -> bool:
    """End one of the user's API sessions; False when it is not theirs or already over."""
    if not any(row["family"] == family for row in blocklist.families(str(user.pk))):
        return False
    blocklist.end_family(family=family, user_id=str(user.pk), ttl_seconds=_refresh_ttl_seconds())
    realtime.credential_sockets_close(kind="api", key=family)
    return True


def api_sessions(*, user: User) -> list[dict[str, str]]:
    """The user's live API sessions (device, IP, created, last refreshed)."""
    return blocklist.families(str(user.pk))


def tokens_revoke_all_for_user(*, user: User) -> None:
    """Void every token the user holds, including ones this server never saw."""
    blocklist.cut_off(user_id=str(user.pk), ttl_seconds=_refresh_ttl_seconds())


def user_sign_out_everywhere(*, user: User) -> None:
    """Log out everywhere: every token, every site session, every open socket."""
    tokens_revoke_all_for_user(user=user)
    site_sessions.site_sessions_end_all(user_id=user.pk)
    realtime.user_sockets_close(user_id=user.pk, reason="signed-out")


# --- Bans --------------------------------------------------------------------------------


def user_block(*, user: User, actor: User | None = None) -> User:
    """Block a user: inactive at once, tokens void, site sessions ended, sockets closed.

    Saving ``is_active=False`` over an active user signs them out everywhere
    (accounts/signals.py); a user who was already inactive is signed out here instead.
    The whole instance is saved, so a Django admin form's other edits are kept.
    """
    already_inactive = not User.objects.filter(pk=user.pk, is_active=True).exists()
    user.is_active = False
    if user.blocked_at is None:
        user.blocked_at = timezone.now()
        user.blocked_by = actor.email if actor else ""
    user.save()
    if already_inactive:
        user_sign_out_everywhere(user=user)
    return user


def user_unblock(*, user: User) -> User:
    """Let a blocked user log in again (their old tokens stay void)."""
    user.is_active = True
    user.blocked_at = None
    user.blocked_by = ""
    user.save()
    return user


# --- WebSocket tickets --------------------------------------------------------------------


def ws_ticket_issue(*, user: User, access: TiendaAccessToken | None = None) -> dict[str, object]:
    """A single-use ticket to open a WebSocket as ``user``; one traded for ``access`` dies with its session."""
    session = {}
    if access is not None:
        session = {
            "jti": str(access.payload[api_settings.JTI_CLAIM]),
            "family": str(access.payload[FAMILY_CLAIM]),
            "issued_ms": int(access.payload[ISSUED_MS_CLAIM]),
        }
    ticket = tickets.ticket_issue(user_id=user.pk, **session)
    return {"ticket": ticket, "expires_in": tickets.TICKET_TTL_SECONDS}


def ws_ticket_redeem(*, ticket: str) -> tuple[User, str] | None:
    """Redeem a ticket: its active user and API session (token family, "" when none), or None if
    the ticket is unknown, used, expired, or its API session is over."""
    redeemed = tickets.ticket_redeem(ticket)
    if redeemed is None:
        return None
    if redeemed.jti:
        try:
            refusal = token_refusal(
                jti=redeemed.jti, family=redeemed.family, user_id=redeemed.user_id, issued_ms=redeemed.issued_ms
            )
        except blocklist.BlocklistUnavailable:
            return None  # fail closed, as for tokens
        if refusal is not None:
            return None
    user = User.objects.filter(pk=redeemed.user_id).first()
    return (user, redeemed.family) if user is not None and user.is_active else None
