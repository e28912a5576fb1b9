"""DRF authentication for API clients: simplejwt access tokens checked against the blocklist."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.tokens import TiendaAccessToken

ERROR_USER_INACTIVE = _("This account is blocked. Contact the shop if you think this is a mistake.")
ERROR_USER_GONE = _("The account this token belongs to no longer exists.")


class TiendaJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access>``; every failure is a 401 with one precise message."""

    def get_validated_token(self, raw_token: bytes) -> TiendaAccessToken:
        try:
            return TiendaAccessToken(raw_token)
        except TokenError as error:
            # simplejwt nests the reason in a list per token class; clients want it up front.
            raise InvalidToken({"detail": str(error.args[0]), "code": "token_not_valid"}) from error

    def get_user(self, validated_token: Any) -> Any:
        try:
            # get(), not filter().first(): first() would sort by the model's ordering (email).
            user = self.user_model.objects.get(pk=validated_token.get("user_id"))
        except self.user_model.DoesNotExist:
            raise AuthenticationFailed(ERROR_USER_GONE, code="user_not_found") from None
        if not user.is_active:
            raise AuthenticationFailed(ERROR_USER_INACTIVE, code="user_inactive")
        return user
