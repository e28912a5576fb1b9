"""Self-service sign-up: the one write behind the site's sign-up page.

Kept apart from accounts/services.py only because that module is owned by the API work in
progress; it follows the same rules (keyword-only, typed, the only place that creates shoppers).
"""

from __future__ import annotations

import logging

from django.contrib.auth import password_validation
from django.db import IntegrityError

from accounts.models import User

logger = logging.getLogger(__name__)


class EmailAlreadyRegistered(Exception):
    """An account already uses this e-mail address."""


def email_normalize(email: str) -> str:
    """The stored form of an e-mail address: trimmed and lower-cased, as ``User`` keeps it."""
    return User.objects.normalize_email(email.strip()).lower()


def user_signup(*, email: str, password: str, full_name: str = "") -> User:
    """Create an active shopper account.

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
