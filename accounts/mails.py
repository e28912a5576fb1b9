"""The account e-mails, sent by jobs (accounts/jobs.py): the sign-up welcome with its address
confirmation link, and the password reset link.

A reset request puts one job on the queue whatever the address typed, and the job looks the
address up: the reset page does the same work, in the same time, for known and unknown
addresses (docs/security.md). The confirmation token is Django's reset-token machinery with a
salt of its own; it stops working once the address is confirmed or changed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from common.jobs import QUEUE_EMAIL, email_retry, enqueue_after_commit
from common.mail import mail_render, mail_send

logger = logging.getLogger(__name__)


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for the welcome e-mail's link: valid until used, the address changes, or PASSWORD_RESET_TIMEOUT."""

    key_salt = "accounts.mails.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.email_confirmed_at}{timestamp}"


email_confirmation_tokens = EmailConfirmationTokenGenerator()


def _link(view: str, user: User, token: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse(view, kwargs={"uidb64": uid, "token": token})


def _language(user: User, fallback: str = "") -> str:
    return user.language or fallback or settings.LANGUAGE_CODE


def welcome_mail_enqueue(*, user: User) -> None:
    """Queue the welcome e-mail of a new account."""
    enqueue_after_commit("accounts.jobs.welcome_mail", queue=QUEUE_EMAIL, args=(str(user.pk),), retry=email_retry())


def welcome_mail_send(*, user_id: str) -> bool:
    """Send the welcome e-mail with its confirmation link; False when the user is gone or confirmed."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or user.email_confirmed_at is not None:
        logger.warning("welcome e-mail skipped: user %s is gone, blocked or already confirmed", user_id)
        return False
    context = {
        "user": user,
        "confirm_url": _link("accounts:email_confirm", user, email_confirmation_tokens.make_token(user)),
    }
    mail_send(to=user.email, mail=mail_render(name="welcome", context=context, language=_language(user)))
    return True


def password_reset_mail_enqueue(*, email: str, language: str) -> None:
    """Queue the reset e-mail for ``email`` whether or not an account has it (the job looks)."""
    enqueue_after_commit(
        "accounts.jobs.password_reset_mail", queue=QUEUE_EMAIL, args=(email, language), retry=email_retry()
    )


def password_reset_mail_send(*, email: str, language: str) -> int:
    """Mail a reset link to each active account with ``email`` (Django's rules); how many were sent."""
    users = list(PasswordResetForm().get_users(email))
    for user in users:
        context = {
            "user": user,
            "reset_url": _link("accounts:password_reset_confirm", user, default_token_generator.make_token(user)),
        }
        mail_send(
            to=user.email, mail=mail_render(name="password_reset", context=context, language=_language(user, language))
        )
    if not users:
        logger.info("password reset asked for an address without an active account")
    return len(users)
