"""Shoppers and staff: one user model, identified by e-mail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update`` sends no signal: forget the cards of the users it changes (accounts/user_cache.py)."""
        from accounts.user_cache import user_card_forget  # user_cache builds on this module

        user_ids = list(self.values_list("pk", flat=True))
        updated = super().update(**kwargs)
        for user_id in user_ids:
            user_card_forget(user_id=user_id)
        return updated


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        """A shopper account."""
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        """An admin account with every permission."""
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # E-mail addresses are stored lower-case, so "Ana@Example.com" logs in too.
        return self.get(**{self.model.USERNAME_FIELD: (username or "").lower()})


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into the admin site."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Unticking this blocks the user."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True, editable=False)
    blocked_by = models.CharField(_("blocked by"), max_length=254, blank=True, editable=False)
    # The site language the user last used (sign-up, login, the language switch): their e-mails' language.
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    # Set when the user opened the link of the welcome e-mail (or reset their password by e-mail).
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True, editable=False)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email
