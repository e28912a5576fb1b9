"""DRF authentication for API clients: simplejwt access tokens checked against the blocklist."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

from accounts.tokens import ERROR_ACCOUNT_BLOCKED, TiendaAccessToken, invalid_token

ERROR_USER_GONE = _("The account this token belongs to no longer exists.")


class TiendaJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access>``; every failure is a 401 with one precise message."""

    def get_validated_token(self, raw_token: bytes) -> TiendaAccessToken:
        try:
            return TiendaAccessToken(raw_token)
        except TokenError as error:
            raise invalid_token(error) from error

    def get_user(self, validated_token: Any) -> Any:
        try:
            # get(), not filter().first(): first() would sort by the model's ordering (email).
            user = self.user_model.objects.get(pk=validated_token.get(api_settings.USER_ID_CLAIM))
        except self.user_model.DoesNotExist:
            raise AuthenticationFailed(ERROR_USER_GONE, code="user_not_found") from None
        if not user.is_active:
            raise AuthenticationFailed(ERROR_ACCOUNT_BLOCKED, code="user_inactive")
        return user
