"""Auth API under /api/auth/."""

from __future__ import annotations

from django.urls import path

from accounts import api

app_name = "auth-api"

urlpatterns = [
    path("token/", api.TokenObtainApi.as_view(), name="token"),
    path("token/refresh/", api.TokenRefreshApi.as_view(), name="token-refresh"),
    path("token/verify/", api.TokenVerifyApi.as_view(), name="token-verify"),
    path("logout/", api.LogoutApi.as_view(), name="logout"),
    path("logout-all/", api.LogoutAllApi.as_view(), name="logout-all"),
    path("ws-ticket/", api.WsTicketApi.as_view(), name="ws-ticket"),
    path("sessions/", api.SessionListApi.as_view(), name="sessions"),
    path("sessions/<str:session_id>/", api.SessionEndApi.as_view(), name="session-end"),
]
