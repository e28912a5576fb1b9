"""Auth API under /api/auth/: tokens, logout, sessions and WebSocket tickets.

One class per action. Token errors are 401 with one precise ``detail``; when the
blocklist cannot be read, 503 (accounts/tokens.py, AuthUnavailable).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError

from accounts import ratelimit, services
from accounts.blocklist import BlocklistUnavailable
from accounts.tokens import FAMILY_CLAIM, AuthUnavailable, TiendaAccessToken, TiendaRefreshToken, invalid_token
from common.api.errors import invalid_body

ERROR_CREDENTIALS = _("Email or password is incorrect.")
ERROR_SESSION_NOT_FOUND = _("You have no active session with that id.")
TAGS = ["auth"]

TokenPairSerializer = inline_serializer(
    "TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)
DetailSerializer = inline_serializer("AuthError", {"detail": serializers.CharField(), "code": serializers.CharField()})
UNAUTHORIZED = OpenApiResponse(DetailSerializer, description="Missing, invalid, expired or revoked token.")
UNAVAILABLE = OpenApiResponse(DetailSerializer, description="The token blocklist cannot be read; try again.")
INVALID_BODY = invalid_body(description="A field is missing or malformed.")
THROTTLED = OpenApiResponse(DetailSerializer, description="Too many attempts from this address (API_TOKEN_RATE), "
                            "or too many failed ones for this e-mail; see Retry-After.")  # fmt: skip


@contextmanager
def _failing_closed() -> Iterator[None]:
    """Turn an unreadable blocklist into a 503: a token whose state is unknown never passes."""
    try:
        yield
    except BlocklistUnavailable as error:
        raise AuthUnavailable() from error


class _PublicAuthApi(APIView):
    """No authentication runs here, but failures still answer 401 with a Bearer challenge."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenObtainApi(_PublicAuthApi):
    """POST email + password -> a new API session's access and refresh tokens."""

    throttle_classes = [AnonRateThrottle]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

        class Meta:
            ref_name = "TokenObtainInput"

    @extend_schema(
        operation_id="auth_token_obtain", tags=TAGS, request=InputSerializer,
        responses={200: TokenPairSerializer, 400: INVALID_BODY, 401: UNAUTHORIZED, 429: THROTTLED,
                   503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email, ip = data.validated_data["email"], ratelimit.client_ip(request)
        # The site login's per-account and per-address failure limits: one set of counters for
        # every door, so guessing over the API cannot go around the site's lockout.
        wait = ratelimit.login_retry_after(ip=ip, email=email)
        if wait:
            raise Throttled(wait=wait, detail=ratelimit.LOGIN_LOCKED_OUT % {"minutes": ratelimit.minutes_to_wait(wait)})
        user = authenticate(request, username=email, password=data.validated_data["password"])
        if user is None:
            ratelimit.login_failure_record(ip=ip, email=email)
            # Same answer for an unknown email, a wrong password and a blocked account.
            raise AuthenticationFailed(ERROR_CREDENTIALS, code="invalid_credentials")
        ratelimit.login_failures_clear(email=email)
        with _failing_closed():
            pair = services.token_pair_issue(
                user=user, user_agent=request.META.get("HTTP_USER_AGENT", ""), ip=ratelimit.client_ip(request)
            )
        return Response(pair)


class TokenRefreshApi(_PublicAuthApi):
    """POST a refresh token -> a new pair; the old refresh token stops working (rotation)."""

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField(max_length=4096)

        class Meta:
            ref_name = "TokenRefreshInput"

    @extend_schema(
        operation_id="auth_token_refresh", tags=TAGS, request=InputSerializer,
        responses={200: TokenPairSerializer, 400: INVALID_BODY, 401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _failing_closed():
            try:
                return Response(services.token_refresh(raw_refresh=data.validated_data["refresh"]))
            except TokenError as error:
                raise invalid_token(error) from error


class TokenVerifyApi(_PublicAuthApi):
    """POST any token -> 200 when it is valid and not revoked."""

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=4096)

        class Meta:
            ref_name = "TokenVerifyInput"

    @extend_schema(
        operation_id="auth_token_verify", tags=TAGS, request=InputSerializer,
        responses={200: inline_serializer("TokenVerified", {"token_type": serializers.CharField()}),
                   400: INVALID_BODY, 401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["token"]
        errors = []
        for token_class in (TiendaAccessToken, TiendaRefreshToken):
            try:
                token = token_class(raw)
            except TokenError as error:
                errors.append(error)
                continue
            return Response({"token_type": token.token_type})
        raise invalid_token(errors[0])


class LogoutApi(APIView):
    """POST (with the access token) -> this session's access and refresh tokens stop working."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout", tags=TAGS, request=None,
        responses={204: None, 401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, TiendaAccessToken):
            raise AuthenticationFailed(_("Log out of the website with the site's logout button."))
        with _failing_closed():
            services.token_logout(access=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(APIView):
    """POST -> every token, site session and socket of the user ends."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout_all", tags=TAGS, request=None,
        responses={204: None, 401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        with _failing_closed():
            services.user_sign_out_everywhere(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WsTicketApi(APIView):
    """POST -> a single-use ticket (30 s) for ``ws://.../ws/...?ticket=...``."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_ws_ticket", tags=TAGS, request=None,
        responses={200: inline_serializer("WsTicket", {"ticket": serializers.CharField(),
                                                        "expires_in": serializers.IntegerField()}),
                   401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        with _failing_closed():
            access = request.auth if isinstance(request.auth, TiendaAccessToken) else None
            return Response(services.ws_ticket_issue(user=request.user, access=access))


class SessionListApi(APIView):
    """GET -> the user's active API sessions (device, IP, created, last refreshed)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="family")
        user_agent = serializers.CharField()
        ip = serializers.CharField()
        created_ms = serializers.IntegerField()
        last_used_ms = serializers.IntegerField()
        current = serializers.BooleanField()

        class Meta:
            ref_name = "ApiSession"

    @extend_schema(
        operation_id="auth_sessions_list", tags=TAGS,
        responses={200: OutputSerializer(many=True), 401: UNAUTHORIZED, 503: UNAVAILABLE},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        with _failing_closed():
            rows = services.api_sessions(user=request.user)
        current = request.auth.payload.get(FAMILY_CLAIM) if isinstance(request.auth, TiendaAccessToken) else None
        rows = [{**row, "current": row["family"] == current} for row in rows]
        return Response(self.OutputSerializer(rows, many=True).data)


class SessionEndApi(APIView):
    """DELETE /api/auth/sessions/{id}/ -> that session's tokens stop working."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_sessions_end", tags=TAGS,
        responses={204: None, 401: UNAUTHORIZED, 404: OpenApiResponse(DetailSerializer), 503: UNAVAILABLE},
    )  # fmt: skip
    def delete(self, request: Request, session_id: str) -> Response:
        with _failing_closed():
            ended = services.api_session_end(user=request.user, family=session_id)
        if not ended:
            raise NotFound(ERROR_SESSION_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
