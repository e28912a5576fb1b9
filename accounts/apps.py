from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import schema, signals  # noqa: F401 - connects receivers, registers the schema extension
        from accounts.user_cache import user_card_keys_register

        user_card_keys_register()
