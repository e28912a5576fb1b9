"""DRF authentication for API clients: simplejwt access tokens checked against the blocklist, the
user read from their card in Redis (accounts/user_cache.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

from accounts.tokens import ERROR_ACCOUNT_BLOCKED, TiendaAccessToken, invalid_token
from accounts.user_cache import user_card

ERROR_USER_GONE = _("The account this token belongs to no longer exists.")


class TiendaJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access>``; every failure is a 401 with one precise message."""

    def get_validated_token(self, raw_token: bytes) -> TiendaAccessToken:
        try:
            return TiendaAccessToken(raw_token)
        except TokenError as error:
            raise invalid_token(error) from error

    def get_user(self, validated_token: Any) -> Any:
        prefetched = getattr(validated_token, "prefetched", None)  # read with the blocklist (accounts/tokens.py)
        card = user_card(user_id=validated_token.get(api_settings.USER_ID_CLAIM), prefetched=prefetched)
        if card is None:
            raise AuthenticationFailed(ERROR_USER_GONE, code="user_not_found")
        if not card.is_active:
            raise AuthenticationFailed(ERROR_ACCOUNT_BLOCKED, code="user_inactive")
        return card.user()
