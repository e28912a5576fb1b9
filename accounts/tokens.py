"""simplejwt tokens that know about the Redis blocklist (accounts/blocklist.py).

Each token carries ``jti``, ``fam`` (the API session it belongs to) and ``iat_ms`` (issue time
in milliseconds, compared with the user's cut-off; ``iat`` has whole seconds only).
Verification checks the blocklist with one MGET; if Redis cannot answer, it raises
``AuthUnavailable`` (503) and never lets the token through.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import blocklist
from accounts.user_cache import user_card_guard_key, user_card_key

FAMILY_CLAIM = "fam"
ISSUED_MS_CLAIM = "iat_ms"

ERROR_REVOKED = _("This token has been revoked: you logged out. Log in again.")
ERROR_FAMILY_ENDED = _("This session has been ended. Log in again.")
ERROR_CUT_OFF = _(
    "This token was issued before your password, permissions or sign-ins changed, or your account was "
    "blocked. Log in again."
)
ERROR_NO_SESSION = _("This token belongs to no session. Log in again.")
ERROR_ACCOUNT_BLOCKED = _("This account is blocked. Contact the shop if you think this is a mistake.")
ERROR_UNAVAILABLE = _("Sign-in checks are unavailable right now, so the request was refused. Try again shortly.")


class AuthUnavailable(APIException):
    """The blocklist cannot be read: fail closed with 503, never let the token through."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = ERROR_UNAVAILABLE
    default_code = "auth_unavailable"


def invalid_token(error: TokenError) -> InvalidToken:
    """The 401 for a token that fails its checks: its one reason up front, code token_not_valid.

    simplejwt nests the reason in a list per token class; clients want it as ``detail``.
    """
    return InvalidToken({"detail": str(error.args[0]), "code": "token_not_valid"})


def token_refusal(*, jti: str, family: str, user_id: str, issued_ms: int) -> str | None:
    """Why a token with these claims is void (the message), or None while it stands. One MGET;
    raises ``BlocklistUnavailable`` when Redis cannot answer."""
    return _refusal(blocklist.token_state(jti=jti, family=family, user_id=user_id), issued_ms=issued_ms)


def _refusal(state: blocklist.TokenState, *, issued_ms: int) -> str | None:
    if state.revoked:
        return str(ERROR_REVOKED)
    if state.cutoff_ms is not None and issued_ms < state.cutoff_ms:
        return str(ERROR_CUT_OFF)
    if state.family_ended:
        return str(ERROR_FAMILY_ENDED)
    return None


class _BlocklistChecked:
    payload: dict[str, Any]
    prefetched: dict[str, Any] | None = None

    def verify(self) -> None:
        super().verify()  # type: ignore[misc] - signature, expiry, jti, type
        self.check_blocklist()

    def check_blocklist(self) -> None:
        """Raise TokenError if the token was revoked, its API session ended or the user cut off.

        The same MGET reads the user's card (accounts/user_cache.py): ``prefetched`` keeps it for
        the authentication's ``get_user``, so a request with a token is one Redis round trip.
        """
        family = self.payload.get(FAMILY_CLAIM)
        if not family or ISSUED_MS_CLAIM not in self.payload:
            raise TokenError(ERROR_NO_SESSION)
        user_id = str(self.payload.get(api_settings.USER_ID_CLAIM, ""))
        try:
            state = blocklist.token_state(
                jti=self.payload[api_settings.JTI_CLAIM], family=family, user_id=user_id,
                also=(user_card_key(user_id), user_card_guard_key(user_id)),
            )  # fmt: skip
        except blocklist.BlocklistUnavailable as error:
            raise AuthUnavailable() from error
        self.prefetched = state.also
        refusal = _refusal(state, issued_ms=int(self.payload[ISSUED_MS_CLAIM]))
        if refusal is not None:
            raise TokenError(refusal)


class TiendaAccessToken(_BlocklistChecked, AccessToken):
    """An access token checked against the blocklist on every request."""


class TiendaRefreshToken(_BlocklistChecked, RefreshToken):
    """A refresh token in an API session (its family); rotation is tracked in Redis."""

    access_token_class = TiendaAccessToken

    @classmethod
    def for_api_session(cls, user: Any, *, family: str | None = None) -> TiendaRefreshToken:
        """A refresh token for ``user`` in ``family`` (a new API session when None)."""
        token = cls.for_user(user)
        token[FAMILY_CLAIM] = family or uuid.uuid4().hex
        token[ISSUED_MS_CLAIM] = blocklist.now_ms()
        return token

    @property
    def family(self) -> str:
        return str(self.payload[FAMILY_CLAIM])

    @property
    def jti(self) -> str:
        return str(self.payload[api_settings.JTI_CLAIM])
